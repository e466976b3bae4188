"""The smallest complete task outside the package: a schema, prepare, one
training stage, results, declared as `EXPERIMENT` and named in a config by
this module's path (`experiment="toy_task"`; docs/adding_a_model.md). Its
tests (test_runner.py) show what the runner then gives every task for free."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from xmjax.configs import schemas
from xmjax.configs.ranges import at_least, greater_than
from xmjax.configs.registry import Experiment
from xmjax.errors import InputError
from xmjax.train import provenance
from xmjax.train.batching import epoch_batch_rows
from xmjax.train.runner import Run, Task, TrainingStage, compiled
from xmjax.train.state import init_train_state

# The random stream of the batch order, mixed with config.seed: named, so
# that a second stream of this task cannot silently reuse its number.
BATCH_STREAM = 1


def schema() -> ml_collections.ConfigDict:
  config = schemas.run_header("toy_regression", "toy_task")
  config.data = ml_collections.ConfigDict(dict(num_rows=256, dim=8, noise=0.1, split_seed=0))
  config.train = ml_collections.ConfigDict(dict(
      num_steps=60, batch_size=32, learning_rate=0.1, checkpoint_every=20))
  return config


def prepare(config):
  if config.train.batch_size > config.data.num_rows // 2:
    raise InputError(f"config.train.batch_size: {config.train.batch_size} is larger than the "
                     f"{config.data.num_rows // 2} training rows")
  rng = np.random.default_rng(config.data.split_seed)
  x = rng.normal(size=(config.data.num_rows, config.data.dim)).astype(np.float32)
  y = x @ rng.normal(size=config.data.dim).astype(np.float32) + config.data.noise * rng.normal(
      size=config.data.num_rows).astype(np.float32)
  half = config.data.num_rows // 2
  return {"train": (x[:half], y[:half]), "test": (x[half:], y[half:])}


def mse(state, params, x, y):
  return jnp.mean((state.apply_fn({"params": params}, x)[:, 0] - y) ** 2)


def train_step(state, x, y, rows):
  loss, grads = jax.value_and_grad(lambda p: mse(state, p, x[rows], y[rows]))(state.params)
  return state.apply_gradients(grads=grads), {"loss": loss}


def train(run: Run, data):
  config, (x, y) = run.config, data["train"]
  model, tx = nn.Dense(1), optax.sgd(config.train.learning_rate)
  init = lambda: init_train_state(model, tx, jax.random.key(config.seed), x[:1])
  batch_stream = (config.seed, BATCH_STREAM)

  with run.timed("toy"):   # timing.json's toy_seconds, kept when a resume reuses the stage
    return run.train(TrainingStage(
        name="toy", init=init, step=train_step, num_steps=config.train.num_steps,
        data=(x, y), batches=lambda step: (epoch_batch_rows(batch_stream, len(y),
                                                            config.train.batch_size, step),),
        checkpoint_every=config.train.checkpoint_every))


def results(run: Run, data, state):
  (x, y), (xt, yt) = data["train"], data["test"]
  w, *_ = np.linalg.lstsq(np.c_[x, np.ones(len(x))], y, rcond=None)
  return {"toy/test_mse": float(compiled(mse)(state, state.params, xt, yt)),
          "least_squares/test_mse": float(np.mean((np.c_[xt, np.ones(len(xt))] @ w - yt) ** 2))}


TASK = Task(name="toy_task", prepare=prepare, train=train, results=results,
            stages=(provenance.Stage("toy"),))
EXPERIMENT = Experiment(name="toy_task", schema=schema, task="toy_task",
                        rules={"train.batch_size": at_least(1),
                               "train.learning_rate": greater_than(0)})
