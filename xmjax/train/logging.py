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
  appends them to `workdir/metrics.jsonl`. Files are opened on the first
  write, so a resumed run with nothing left to train adds no empty event file."""

  def __init__(self, workdir: str, suffix: str = ""):
    self._active = is_primary()   # one writer in a multi-process run
    self._workdir, self._suffix = workdir, suffix
    self._tb = self._jsonl = None

  def _open(self) -> None:
    if self._tb is None:
      from tensorboardX import SummaryWriter  # Lazy: only runs that log need it.
      # Event files are named by the second they open in: a suffix keeps two
      # writers of one second (training curves, results) from sharing a name.
      self._tb = SummaryWriter(os.path.join(self._workdir, "tensorboard"),
                               filename_suffix=self._suffix)
      self._jsonl = open(os.path.join(self._workdir, "metrics.jsonl"), "a")

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    if not self._active:
      return
    self._open()
    scalars = {k: float(np.asarray(v)) for k, v in scalars.items()}
    for name, value in scalars.items():
      self._tb.add_scalar(name, value, step)
    self._jsonl.write(json.dumps({"step": step, **scalars}) + "\n")
    self._jsonl.flush()

  def write_results(self, step: int, results: Mapping[str, object]) -> None:
    """The run's numeric results (test metrics) to TensorBoard only, at
    `step` (metrics.jsonl keeps the training curves; results.json has these)."""
    if not self._active:
      return
    numbers = {k: float(v) for k, v in results.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool) and "/" in k}
    if not numbers:
      return
    self._open()
    for name, value in numbers.items():
      self._tb.add_scalar(name, value, step)

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()
      self._jsonl.close()
      self._tb = self._jsonl = None


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
