"""One-field sweeps (e.g. RR-Net accuracy by candidate count K or by number of
GCN units, the paper's figures 3-4 and table V), with a summary and a plot."""

from __future__ import annotations

import copy
import logging
import os
import shutil
from typing import Any, Sequence

import ml_collections

from xmjax.errors import InputError
from xmjax.train import provenance
from xmjax.train.experiments import get_experiment, train_and_evaluate
from xmjax.train.loop import write_json_atomic

log = logging.getLogger("xmjax")



def _get(config, field):
  node = config
  for part in field.split("."):
    if not hasattr(node, "keys") or part not in node:
      raise InputError(f"--sweep_field: config.{field} is not a config field")
    node = node[part]
  return node


def _set(config, field, value):
  *path, last = field.split(".")
  node = config
  for part in path:
    node = node[part]
  node[last] = value


def parse_values(config, field: str, values: str) -> list[Any]:
  """"2;5;10" -> [2, 5, 10], typed like the field (';' separates values, so
  a value may hold commas, e.g. units)."""
  current = _get(config, field)
  kind = type(current)
  out = []
  for raw in filter(None, (v.strip() for v in values.split(";"))):
    try:
      out.append(raw.lower() in ("1", "true", "yes") if kind is bool else kind(raw))
    except ValueError:
      raise InputError(f"--sweep_values: {raw!r} is not a valid {kind.__name__} for "
                       f"config.{field}") from None
  if not out:
    raise InputError("--sweep_values: no values given")
  return out


def default_metric(results: dict) -> str:
  for suffix in ("/test_accuracy", "/map_mean", "/test_rmse"):
    keys = [k for k in results if k.endswith(suffix) and not k.startswith(("baseline", "cca"))]
    if keys:
      return keys[0]
  raise InputError("--metric: no default metric in the results; name one")


def run_sweep(config: ml_collections.ConfigDict, workdir: str, field: str,
              values: Sequence[Any], metric: str | None = None) -> dict[str, Any]:
  """Runs config once per value of `field` in workdir/<field>=<value>/
  (each resumable like any run) and writes workdir/sweep.json and
  workdir/plots/sweep_<field>.png."""
  # Stages that do not depend on the swept field run at the first point only.
  shared = [s for s in getattr(get_experiment(config.experiment), "STAGES", ())
            if s.outputs and not s.depends_on(field)]
  points, first_dir = [], None
  for value in values:
    point = copy.deepcopy(config)
    _set(point, field, value)
    point_dir = os.path.join(workdir, f"{field}={value}")
    if first_dir:
      for stage in shared:
        share_stage(stage, first_dir, point_dir)
    log.info("sweep: %s=%s in %s", field, value, point_dir)
    results = train_and_evaluate(point, point_dir)
    first_dir = first_dir or point_dir
    metric = metric or default_metric(results)
    if metric not in results:
      raise InputError(f"--metric: {metric!r} is not in the results; have {sorted(results)}")
    points.append({"value": value, "workdir": point_dir, "results": results})
  summary = {"field": field, "metric": metric, "points": points}
  write_json_atomic(os.path.join(workdir, "sweep.json"), summary)
  plot_sweep(summary, os.path.join(workdir, "plots", f"sweep_{field}.png"))
  return summary


def share_stage(stage: provenance.Stage, source_dir: str, target_dir: str) -> None:
  """Copies a finished stage's outputs and fingerprint from one sweep point
  to another (whose config differs only in fields the stage ignores, so the
  target's own provenance check accepts it)."""
  recorded = provenance.load_stages(source_dir).get(stage.name)
  if recorded is None or provenance.load_stages(target_dir).get(stage.name) is not None:
    return
  sources = [os.path.join(source_dir, f) for f in stage.outputs]
  if not all(os.path.exists(f) for f in sources):
    return
  for name, source in zip(stage.outputs, sources):
    os.makedirs(os.path.dirname(os.path.join(target_dir, name)), exist_ok=True)
    shutil.copy(source, os.path.join(target_dir, name))
  provenance.record_stages(target_dir, {stage.name: recorded})


def plot_sweep(summary: dict, path: str) -> None:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  field, metric, points = summary["field"], summary["metric"], summary["points"]
  labels = [str(p["value"]) for p in points]
  numeric = all(isinstance(p["value"], (int, float)) for p in points)
  xs = [p["value"] for p in points] if numeric else list(range(len(points)))
  fig, ax = plt.subplots(figsize=(6, 4))
  ax.plot(xs, [p["results"][metric] for p in points], "o-", label=metric)
  baseline = metric.replace(metric.split("/")[0], "baseline", 1)
  if all(baseline in p["results"] for p in points):
    ax.plot(xs, [p["results"][baseline] for p in points], "s--", label=baseline)
  if not numeric:
    ax.set_xticks(xs, labels, rotation=20, fontsize=7)
  ax.set(xlabel=field, ylabel=metric, title=f"{metric} by {field}")
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  os.makedirs(os.path.dirname(path), exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)
