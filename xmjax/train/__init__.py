"""Training: the runner and its tasks, state, optimizers, loop, checkpoints, logging."""

from xmjax.train.checkpoint import Checkpointer
from xmjax.train.loop import run_training
from xmjax.train.optim import make_optimizer, make_schedule
from xmjax.train.runner import (Run, Task, TrainingStage, evaluate_workdir, get_task,
                                train_and_evaluate)
from xmjax.train.state import TrainState

__all__ = ["Checkpointer", "Run", "Task", "TrainState", "TrainingStage", "evaluate_workdir",
           "get_task", "make_optimizer", "make_schedule", "run_training", "train_and_evaluate"]
