"""SDML's training step: m independent supervised autoencoders into the
common subspace fixed by P, stepped together in one jitted program, each on
its own schedule and each selected by its own validation criterion.

    networks = make_networks(config, {"image": 4096, "text": 3000})
    joint = init_joint_state(config, networks, projection, num_steps)
    joint, metrics = sdml_train_step(joint, train, valid, rows, balance=0.5,
                                     schedule=schedules(config, sizes))
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from xmjax import random_streams
from xmjax.configs.fields import comma_list
from xmjax.errors import InputError
from xmjax.models.build import from_config
from xmjax.models.sdml import DSAE, sdml_loss_terms
from xmjax.train.batching import steps_per_epoch
from xmjax.train.checkpoint import Checkpointer, restore_for_eval
from xmjax.train.selection import Best, keep_best
from xmjax.train.state import TrainState, compute_dtype

__all__ = ["JointState", "SELECTION", "Schedule", "encode", "init_joint_state", "learning_rates",
           "make_networks", "make_optimizer", "restore_joint", "schedules",
           "sdml_train_step", "selected_params"]


@flax.struct.dataclass
class JointState:
  """Every modality's TrainState, stepped together, plus model selection.

  best_params[m] are modality m's parameters at its lowest validation
  criterion so far (best_valid[m], reached at its own step best_step[m]);
  last_loss[m] is its latest training loss (logged flat once it has
  finished); validations[m] counts its validations; projection is the
  fixed P, saved with them.
  """
  step: jax.Array
  states: dict[str, TrainState]
  best_params: dict[str, Any]
  best_valid: dict[str, jax.Array]
  best_step: dict[str, jax.Array]
  last_loss: dict[str, jax.Array]
  validations: dict[str, jax.Array]
  projection: jax.Array


@dataclasses.dataclass(frozen=True)
class Schedule:
  """One modality's own schedule, in its own steps: `num_steps` (its epochs
  times its full batches per epoch), validated every `validate_every`."""
  modality: str
  num_steps: int
  validate_every: int


# What a network is selected on: the authors' validation supervised term
# ||P^T h - y||, or the whole weighted loss.
SELECTION = ("supervised", "loss")


def learning_rates(config, modalities) -> dict[str, float]:
  overrides = {}
  for item in comma_list(config.train.learning_rate_overrides):
    name, sep, value = item.partition("=")
    try:
      overrides[name.strip()] = float(value)
    except ValueError:
      sep = ""
    if not sep:
      raise InputError(f"config.train.learning_rate_overrides: expected 'name=lr,...', got {item!r}")
  return {m: overrides.get(m, config.train.learning_rate) for m in modalities}


def make_networks(config, dims: dict[str, int]) -> dict[str, DSAE]:
  return {name: from_config(DSAE, config.model, input_dim=d, dtype=compute_dtype(config.dtype))
          for name, d in dims.items()}


def make_optimizer(config, lr: float, num_steps: int):
  return optax.adam(lr, b1=config.train.b1, b2=config.train.b2)


def init_joint_state(config, networks, projection, num_steps) -> JointState:
  rates = learning_rates(config, networks)
  states = {}
  for m, net in networks.items():
    key = random_streams.key(config.seed, random_streams.modality_stream(m))
    params = net.init(key, jnp.zeros((1, net.input_dim)))["params"]
    states[m] = TrainState.create(apply_fn=net.apply, params=params,
                                  tx=make_optimizer(config, rates[m], num_steps))
    states[m] = states[m].replace(step=jnp.zeros((), jnp.int32))

  def per_modality(value, dtype):
    return {m: jnp.asarray(value, dtype) for m in networks}

  return JointState(step=jnp.zeros((), jnp.int32), states=states,
                    # Copies: the step donates its input, and one buffer may be donated once.
                    best_params={m: jax.tree.map(jnp.copy, s.params) for m, s in states.items()},
                    best_valid=per_modality(jnp.inf, jnp.float32),
                    best_step=per_modality(-1, jnp.int32),
                    last_loss=per_modality(jnp.nan, jnp.float32),
                    validations=per_modality(0, jnp.int32),
                    projection=jnp.asarray(projection))


def _loss_terms(state, params, x, y, projection):
  h, x_hat = state.apply_fn({"params": params}, x)
  return sdml_loss_terms(h, x_hat, x, y, projection)


def _weighted(terms, balance):
  reconstruction, supervised = terms
  return balance * reconstruction + (1 - balance) * supervised


def sdml_train_step(joint: JointState, train: dict, valid: dict, rows: dict, *,
                    balance: float, schedule: tuple[Schedule, ...],
                    select_on: str = "supervised"):
  """One step of every modality network that has steps left, in one program.

  train[m] and valid[m] = (features, labels), rows[m] the step's batch rows:
  the data stays on device and each modality's rows index its own array. The networks share nothing, so the
  gradient of one modality's loss touches only its parameters. Each
  modality follows its own `schedule` entry: it steps while its own step
  count is below its num_steps (then it stands still; lax.cond skips its
  work) and, at the end of every validate_every of its own steps, its
  validation criterion (`select_on`) is computed and its best parameters kept.
  """
  states, best_params, best_valid, best_step, last_loss, validations = {}, {}, {}, {}, {}, {}
  out = {}
  for entry in schedule:  # Unrolled at trace time: one program for all.
    m, state = entry.modality, joint.states[entry.modality]
    x, y = train[m]

    def update(state, x=x, y=y, rows=rows[m]):
      loss, grads = jax.value_and_grad(
          lambda p: _weighted(_loss_terms(state, p, x[rows], y[rows], joint.projection),
                              balance))(state.params)
      return state.apply_gradients(grads=grads), loss

    active = state.step < entry.num_steps
    states[m], last_loss[m] = jax.lax.cond(
        active, update, lambda state, m=m: (state, joint.last_loss[m]), state)
    done = states[m].step

    def criterion(new_state, m=m):
      vx, vy = valid[m]
      terms = _loss_terms(new_state, new_state.params, vx, vy, joint.projection)
      return terms[1] if select_on == "supervised" else _weighted(terms, balance)

    due = active & (done % entry.validate_every == 0)
    best_params[m], best_valid[m], best_step[m] = keep_best(
        Best(joint.best_params[m], joint.best_valid[m], joint.best_step[m]), due, states[m], done,
        criterion, lambda new_state: new_state.params)
    validations[m] = joint.validations[m] + due.astype(jnp.int32)
    out[f"loss_{m}"] = last_loss[m]
    out[f"best_valid_{select_on}_{m}"] = best_valid[m]
  joint = joint.replace(step=joint.step + 1, states=states, best_params=best_params,
                        best_valid=best_valid, best_step=best_step, last_loss=last_loss,
                        validations=validations)
  return joint, out


def schedules(config, sizes: dict[str, int]) -> tuple[Schedule, ...]:
  """Each modality's own schedule: config.train.num_epochs of its own epochs
  (its full batches), validated every validate_every_epochs of them, as the
  authors train each view alone."""
  t = config.train
  out = []
  for m, n in sizes.items():
    per_epoch = steps_per_epoch(n, t.batch_size)
    out.append(Schedule(m, t.num_epochs * per_epoch, t.validate_every_epochs * per_epoch))
  return tuple(out)


def restore_joint(config, data_dims, projection, checkpoint_dir, step=None) -> JointState:
  """The joint state in `checkpoint_dir`, latest or at `step` (for evaluation or additions)."""
  template = init_joint_state(config, make_networks(config, data_dims), projection, 1)
  return restore_for_eval(Checkpointer(checkpoint_dir), template, step, checkpoint_dir)


def selected_params(joint: JointState, modalities) -> dict:
  """{modality: (best parameters, the own step they were selected at)}."""
  return {m: (joint.best_params[m], int(joint.best_step[m])) for m in modalities}


def encode(params, x, *, network: DSAE):
  """A network's common-space codes of `x` (jit with `network` static)."""
  return network.apply({"params": params}, x, method=DSAE.encode)
