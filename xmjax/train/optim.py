"""Optimizers and learning-rate schedules from a config (optax)."""

from __future__ import annotations

import ml_collections
import optax


SCHEDULES = ("constant", "cosine", "warmup_cosine", "step")
OPTIMIZERS = ("sgd", "adam", "adamw")




def make_schedule(config: ml_collections.ConfigDict, total_steps: int) -> optax.Schedule:
  """config.schedule: constant | cosine | warmup_cosine | step.

  step: multiply by `decay_factor` at each fraction of training listed in
  `decay_at` (e.g. (0.5, 0.75)).
  """
  lr = config.learning_rate
  name = config.get("schedule", "constant")
  if name == "constant":
    return optax.constant_schedule(lr)
  if name == "cosine":
    return optax.cosine_decay_schedule(lr, max(total_steps, 1))
  if name == "warmup_cosine":
    warmup = config.get("warmup_steps", 0)
    return optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(total_steps, warmup + 1))
  if name == "step":
    boundaries = {int(f * total_steps): config.get("decay_factor", 0.1)
                  for f in config.get("decay_at", (0.5, 0.75))}
    return optax.piecewise_constant_schedule(lr, boundaries)
  raise ValueError(f"optimizer.schedule: unknown schedule {name!r}; choose one of {SCHEDULES}")


def make_optimizer(config: ml_collections.ConfigDict,
                   total_steps: int) -> optax.GradientTransformation:
  """config.name: sgd (momentum, weight decay added to the gradient as in the
  paper's SGD) | adam | adamw; learning_rate; schedule; weight_decay;
  momentum (sgd); b1, b2 (adam)."""
  schedule = make_schedule(config, total_steps)
  name = config.name
  weight_decay = config.get("weight_decay", 0.0)
  if name == "sgd":
    opt = optax.sgd(schedule, momentum=config.get("momentum", 0.0) or None)
    return optax.chain(optax.add_decayed_weights(weight_decay), opt) if weight_decay else opt
  if name == "adam":
    opt = optax.adam(schedule, b1=config.get("b1", 0.9), b2=config.get("b2", 0.999))
    return optax.chain(optax.add_decayed_weights(weight_decay), opt) if weight_decay else opt
  if name == "adamw":
    return optax.adamw(schedule, b1=config.get("b1", 0.9), b2=config.get("b2", 0.999),
                       weight_decay=weight_decay)
  raise ValueError(f"optimizer.name: unknown optimizer {name!r}; choose one of {OPTIMIZERS}")
