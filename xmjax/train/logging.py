"""Metrics to TensorBoard and JSON lines; progress with ETA or plain log lines."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Mapping

import numpy as np
from xmjax.process import is_primary

log = logging.getLogger("xmjax")


class MetricWriter:
  """Writes scalars to `workdir/tensorboard` (TensorBoard event files) and
  appends them to `workdir/metrics.jsonl`."""

  def __init__(self, workdir: str):
    self._active = is_primary()   # one writer in a multi-process run
    if not self._active:
      return
    from tensorboardX import SummaryWriter  # Lazy: only runs that log need it.
    self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))
    self._jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a")

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    if not self._active:
      return
    scalars = {k: float(np.asarray(v)) for k, v in scalars.items()}
    for name, value in scalars.items():
      self._tb.add_scalar(name, value, step)
    self._jsonl.write(json.dumps({"step": step, **scalars}) + "\n")
    self._jsonl.flush()

  def close(self) -> None:
    if self._active:
      self._tb.close()
      self._jsonl.close()


class Progress:
  """A tqdm bar with ETA on a terminal; otherwise a log line every `every` steps."""

  def __init__(self, total: int, initial: int, desc: str, every: int = 100):
    self._interactive = sys.stderr.isatty()
    self._every, self._total, self._desc = max(every, 1), total, desc
    self._start, self._initial = time.time(), initial
    self._bar = None
    if self._interactive:
      from tqdm import tqdm
      self._bar = tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True)

  def update(self, step: int, metrics: Mapping[str, float] | None = None) -> None:
    if self._bar is not None:
      self._bar.update(step - self._bar.n)
      if metrics:
        self._bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items()}, refresh=False)
    elif step % self._every == 0 or step == self._total:
      done = step - self._initial
      rate = done / max(time.time() - self._start, 1e-9)
      eta = (self._total - step) / rate if rate > 0 else float("nan")
      shown = " ".join(f"{k}={v:.4g}" for k, v in (metrics or {}).items())
      log.info("%s step %d/%d %s (%.1f steps/s, eta %.0fs)", self._desc, step, self._total,
               shown, rate, eta)

  def tick(self, step: int) -> None:
    """Advances the bar without metrics (no device sync); a no-op off a terminal."""
    if self._bar is not None:
      self._bar.update(step - self._bar.n)

  def close(self) -> None:
    if self._bar is not None:
      self._bar.close()
