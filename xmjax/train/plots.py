"""Training curves as PNG from a run's metrics.jsonl."""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from xmjax.process import is_primary


def read_metrics(workdir: str) -> dict[str, tuple[list[int], list[float]]]:
  """name -> (steps, values); a step logged twice (a resumed run) keeps its last value."""
  path = os.path.join(workdir, "metrics.jsonl")
  series: dict[str, dict[int, float]] = defaultdict(dict)
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        try:
          record = json.loads(line)
        except json.JSONDecodeError:  # A line cut short by a kill.
          continue
        step = record.pop("step", None)
        for name, value in record.items():
          if step is not None and isinstance(value, (int, float)) and math.isfinite(value):
            series[name][step] = value
  return {name: (sorted(points), [points[s] for s in sorted(points)])
          for name, points in series.items()}


def plot_training_curves(workdir: str) -> str | None:
  """Writes plots/training_curves.png: one panel per logged series
  (train and validation metrics of every stage); returns its path."""
  if not is_primary():
    return None
  series = read_metrics(workdir)
  if not series:
    return None
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  names = sorted(series)
  cols = min(3, len(names))
  rows = math.ceil(len(names) / cols)
  fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3 * rows), squeeze=False)
  for ax, name in zip(axes.flat, names):
    steps, values = series[name]
    ax.plot(steps, values)
    ax.set_title(name, fontsize=9)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
  for ax in list(axes.flat)[len(names):]:
    ax.axis("off")
  fig.tight_layout()
  os.makedirs(os.path.join(workdir, "plots"), exist_ok=True)
  path = os.path.join(workdir, "plots", "training_curves.png")
  fig.savefig(path, dpi=90)
  plt.close(fig)
  return path
