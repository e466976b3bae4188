"""Training: state, optimizers, loop, checkpoints, logging, experiments."""

from xmjax.train.checkpoint import Checkpointer
from xmjax.train.experiments import get_experiment, train_and_evaluate
from xmjax.train.loop import run_training
from xmjax.train.optim import make_optimizer, make_schedule
from xmjax.train.state import TrainState

__all__ = ["Checkpointer", "TrainState", "get_experiment", "make_optimizer", "make_schedule",
           "run_training", "train_and_evaluate"]
