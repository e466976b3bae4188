"""The training loop shared by every stage: resume, step, log, checkpoint.

The loop itself is host code; all per-step work happens in the jitted
`train_step`, and metrics are fetched from the device only when logged.
Batches are a pure function of the step number, so a resumed run sees the
same data as an uninterrupted one.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from xmjax.train.checkpoint import Checkpointer
from xmjax.train.logging import MetricWriter, Progress

# Fault injection for tests of crash recovery: XMJAX_FAULT_INJECTION="stage:step:point"
# makes the process SIGKILL itself in `stage` at `step`, point "step" (right after
# the step, before any checkpoint of that step) or "save" (right after a
# checkpoint save has started, while orbax is still writing it).
FAULT_ENV = "XMJAX_FAULT_INJECTION"

log = logging.getLogger("xmjax")


class TrainingDiverged(RuntimeError):
  """A stage's training loss became NaN or infinite."""


def _losses(metrics: Mapping[str, Any]) -> dict[str, Any]:
  return {k: v for k, v in metrics.items() if k == "loss" or k.endswith("_loss")}


def _check_finite_losses(prefix: str, first: int, last: int, losses: Mapping[str, float],
                         saved: int) -> None:
  bad = {k: v for k, v in losses.items() if not np.isfinite(v)}
  if bad:
    kept = f"the checkpoint of step {saved} is the last finite one" if saved else \
        "no checkpoint was written"
    raise TrainingDiverged(
        f"stage {prefix}: training diverged, {', '.join(f'{k}={v}' for k, v in bad.items())} "
        f"in steps {first + 1}..{last}; {kept}. A smaller learning rate, or float32 instead "
        "of bfloat16, usually helps")


def _maybe_die(stage: str, step: int, point: str) -> None:
  spec = os.environ.get(FAULT_ENV)
  if spec and spec == f"{stage}:{step}:{point}":
    os.kill(os.getpid(), signal.SIGKILL)


# A hook is called as hook(stage, step, state) after each step (and after that
# step's checkpoint, if any); raising stops the run (tests use one to simulate a crash).
Hook = Callable[[str, int, Any], None]


def run_training(*, state: Any, train_step: Callable, batch_fn: Callable[[int], tuple],
                 num_steps: int, checkpointer: Checkpointer, writer: MetricWriter | None,
                 prefix: str, log_every: int = 50, checkpoint_every: int = 500,
                 hooks: Sequence[Hook] = (), eval_fn: Callable[[Any], dict] | None = None,
                 eval_every: int = 0, snapshot_prefixes: Sequence[str] = ("best_",)) -> Any:
  """Trains from the latest checkpoint (if any) to `num_steps`.

  Args:
    state: an initial train state; replaced by the latest checkpoint if one exists.
    train_step: jitted (state, *batch) -> (state, metrics dict of scalars);
      each logged value is the metric's mean over the steps since the last log,
      except snapshots of the state (names starting with `snapshot_prefixes`,
      e.g. SDML's best_valid_loss_*), logged as their latest value.
    batch_fn: step -> tuple of batch arguments, deterministic in step.
    num_steps: total steps of the stage.
    checkpointer: where to restore from and save to (every `checkpoint_every`
      steps and at the end).
    writer: metric sink; metrics are logged as f"{prefix}/train_{name}".
    prefix: stage name, e.g. "baseline" or "rrnet".
    eval_fn: optional state -> dict of validation scalars, logged as
      f"{prefix}/valid_{name}" every `eval_every` steps and at the end
      (monitoring only; it never changes the state).

  Returns:
    The final state. Logs one line as it starts: reused (nothing left to
    train), resuming at a step, or training from scratch.
  """
  state = checkpointer.restore_latest(state)
  start = int(jax.device_get(state.step))
  if start >= num_steps:
    log.info("stage %s: reused, all %d steps in its checkpoint (%s)", prefix, num_steps,
             checkpointer.directory)
  elif start:
    log.info("stage %s: resuming at step %d of %d from its checkpoint", prefix, start, num_steps)
  else:
    log.info("stage %s: training %d steps", prefix, num_steps)
  progress = Progress(num_steps, start, prefix, every=log_every)
  interval_sum, interval_steps = None, 0
  # A NaN or infinite loss stops the stage before a checkpoint could keep
  # the diverged state: the losses are checked at every logging interval
  # and before every save (a diverged run must not look like a finished one).
  last_saved, last_checked = start, start
  try:
    for step in range(start, num_steps):
      state, metrics = train_step(state, *batch_fn(step))
      # Summed on device (asynchronously): the logged value is the mean over
      # the logging interval, not the last step's.
      interval_sum = metrics if interval_sum is None else {
          k: v if k.startswith(tuple(snapshot_prefixes)) else jnp.add(interval_sum[k], v)
          for k, v in metrics.items()}
      interval_steps += 1
      done = step + 1
      if done % log_every == 0 or done == num_steps:
        host = {k: float(v) if k.startswith(tuple(snapshot_prefixes)) else float(v) / interval_steps
                for k, v in jax.device_get(interval_sum).items()}
        interval_sum, interval_steps = None, 0
        _check_finite_losses(prefix, last_checked, done, _losses(host), last_saved)
        last_checked = done
        if writer is not None:
          writer.write_scalars(done, {f"{prefix}/train_{k}": v for k, v in host.items()})
        progress.update(done, host)
      else:
        progress.tick(done)
      if eval_fn is not None and writer is not None and (
          (eval_every and done % eval_every == 0) or done == num_steps):
        valid = {k: float(v) for k, v in jax.device_get(eval_fn(state)).items()}
        writer.write_scalars(done, {f"{prefix}/valid_{k}": v for k, v in valid.items()})
      _maybe_die(prefix, done, "step")
      if done % checkpoint_every == 0 or done == num_steps:
        if last_checked != done:
          _check_finite_losses(prefix, last_checked, done, {
              k: float(v) for k, v in jax.device_get(_losses(metrics)).items()}, last_saved)
        checkpointer.save(done, state)
        last_saved = done
        _maybe_die(prefix, done, "save")
      for hook in hooks:
        hook(prefix, done, state)
  finally:
    progress.close()
    checkpointer.close()
  return state
