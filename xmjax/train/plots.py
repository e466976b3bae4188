"""A run's figures as PNG: training curves from metrics.jsonl, and the
headline results side by side."""

from __future__ import annotations

import fnmatch
import json
import math
import os
import re
from collections import defaultdict
from typing import Any, Mapping, Sequence

from xmjax.process import is_primary


def read_metrics(workdir: str) -> dict[str, tuple[list[int], list[float]]]:
  """name -> (steps, values), names in the order first logged; a step
  logged twice (a resumed run) keeps its last value."""
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


def _flat(values: Sequence[float]) -> bool:
  low, high = min(values), max(values)
  return high - low <= 1e-9 * max(1.0, abs(high))


def curve_panels(series: Mapping[str, tuple[list[int], list[float]]]
                 ) -> dict[str, dict[str, dict[str, tuple[list[int], list[float]]]]]:
  """stage -> metric -> {"train"|"valid": (steps, values)}, stages and
  metrics in logging order; a series that never changes (a recall of 1.0
  throughout) is left out, and so is a metric with nothing left."""
  panels: dict[str, dict[str, dict[str, Any]]] = {}
  for name, (steps, values) in series.items():
    stage, _, rest = name.rpartition("/")
    match = re.match(r"(train|valid)_(.+)", rest)
    split, metric = (match.group(1), match.group(2)) if match else ("train", rest)
    if len(values) > 1 and _flat(values):
      continue
    panels.setdefault(stage or "run", {}).setdefault(metric, {})[split] = (steps, values)
  return panels


def plot_training_curves(workdir: str) -> str | None:
  """Writes plots/training_curves.png: one row per stage (in training
  order), one panel per metric with its training and validation series on
  the same axes; returns its path."""
  if not is_primary():
    return None
  panels = curve_panels(read_metrics(workdir))
  if not panels:
    return None
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  cols = max(len(metrics) for metrics in panels.values())
  rows = len(panels)
  fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows + 0.6), squeeze=False)
  for row, (stage, metrics) in enumerate(panels.items()):
    for col in range(cols):
      ax = axes[row][col]
      if col >= len(metrics):
        ax.axis("off")
        continue
      metric, lines = list(metrics.items())[col]
      for split, style in (("train", "-"), ("valid", "--")):
        if split in lines:
          steps, values = lines[split]
          ax.plot(steps, values, style, marker="o" if len(steps) < 4 else None,
                  markersize=3, label=split)
      ax.set_title(f"{stage}: {metric}", fontsize=9)
      ax.set_xlabel("step", fontsize=8)
      ax.tick_params(labelsize=7)
      ax.grid(alpha=0.3)
      ax.legend(fontsize=7)
  fig.suptitle(f"Training curves: {os.path.basename(os.path.normpath(workdir))}\n"
               "(train solid, validation dashed; constant series left out)", fontsize=9)
  fig.tight_layout(rect=(0, 0, 1, 1 - 0.6 / (2.8 * rows + 0.6)))
  os.makedirs(os.path.join(workdir, "plots"), exist_ok=True)
  path = os.path.join(workdir, "plots", "training_curves.png")
  fig.savefig(path, dpi=90)
  plt.close(fig)
  return path


def headline_groups(results: Mapping[str, Any], headline: Sequence[str]
                    ) -> list[tuple[str, list[tuple[str, float, list[float]]]]]:
  """Per headline pattern (e.g. "*/test_rmse"): (metric, [(model, value,
  per-split or per-fold values)]) in results order; per-split values are
  the `<key>_split<i>` keys, or `<model>/fold<i>_<metric minus _mean>`."""
  groups = []
  for pattern in headline:
    rows = []
    for key, value in results.items():
      if not fnmatch.fnmatch(key, pattern) or not isinstance(value, (int, float)):
        continue
      model, _, metric = key.partition("/")
      parts = [v for k, v in results.items() if re.fullmatch(re.escape(key) + r"_split\d+", k)]
      if not parts and metric.endswith("_mean"):
        base = metric[:-len("_mean")]
        parts = [v for k, v in results.items()
                 if re.fullmatch(re.escape(model) + r"/fold\d+_" + re.escape(base), k)]
      rows.append((model, float(value), [float(p) for p in parts]))
    if rows:
      groups.append((pattern.split("/", 1)[-1], rows))
  return groups


def plot_results(workdir: str, results: Mapping[str, Any], headline: Sequence[str]
                 ) -> str | None:
  """Writes plots/results.png: per headline metric, every model's value as
  a marker with its number written beside it (and its per-split or
  per-fold values as small dots, where the run has several); returns its path."""
  if not is_primary():
    return None
  groups = headline_groups(results, headline)
  if not groups:
    return None
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  tallest = max(len(rows) for _, rows in groups)
  fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 0.45 * tallest + 2.2),
                           squeeze=False)
  for ax, (metric, rows) in zip(axes[0], groups):
    names = [model for model, _, _ in rows]
    values = [value for _, value, _ in rows]
    positions = list(range(len(rows)))[::-1]            # first model on top
    # Dots, not bars: the axis starts near the values (accuracies of 0.96
    # and 0.98 differ), and a bar's length from there would mislead.
    everything = values + [p for *_, parts in rows for p in parts]
    low, high = min(everything), max(everything)
    span = max(high - low, 1e-6)
    for y, (_, value, parts) in zip(positions, rows):
      ax.hlines(y, low - 0.05 * span, high + 0.05 * span, color="0.85", linewidth=0.8)
      if parts:
        ax.plot(parts, [y] * len(parts), "o", color="tab:gray", markersize=3,
                label="each split or fold" if y == positions[0] else None)
      ax.plot([value], [y], "D", color="tab:blue", markersize=7,
              label="the run's value (mean over splits or folds)" if parts and y == positions[0]
              else None)
      ax.text(high + 0.08 * span, y, f"{value:.4f}", va="center", fontsize=8)
    ax.set_yticks(positions, names, fontsize=8)
    ax.set_xlim(low - 0.1 * span, high + 0.35 * span)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    if any(parts for *_, parts in rows):
      ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2,
                frameon=False)
    ax.set_title(metric, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
  fig.suptitle(f"Test results: {results.get('config', os.path.basename(workdir))}, seed "
               f"{results.get('seed', '?')}", fontsize=10)
  fig.tight_layout(rect=(0, 0, 1, 0.94))
  os.makedirs(os.path.join(workdir, "plots"), exist_ok=True)
  path = os.path.join(workdir, "plots", "results.png")
  fig.savefig(path, dpi=90)
  plt.close(fig)
  return path
