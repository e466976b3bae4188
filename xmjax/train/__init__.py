"""Training: the runner and its tasks, state, optimizers, loop, checkpoints, logging.

The names below are imported on first use, so importing a JAX-free module
under `xmjax.train` (a task's `*_schema.py`) initialises no JAX.
"""

import importlib

_EXPORTS = {
    "Checkpointer": "xmjax.train.checkpoint",
    "run_training": "xmjax.train.loop",
    "make_optimizer": "xmjax.train.optim",
    "make_schedule": "xmjax.train.optim",
    "Evaluation": "xmjax.train.runner",
    "Run": "xmjax.train.runner",
    "Task": "xmjax.train.runner",
    "TrainingStage": "xmjax.train.runner",
    "evaluate_workdir": "xmjax.train.runner",
    "get_task": "xmjax.train.runner",
    "train_and_evaluate": "xmjax.train.runner",
    "TrainState": "xmjax.train.state",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
  if name in _EXPORTS:
    return getattr(importlib.import_module(_EXPORTS[name]), name)
  raise AttributeError(f"module 'xmjax.train' has no attribute {name!r}")


def __dir__():
  return sorted(set(globals()) | set(_EXPORTS))
