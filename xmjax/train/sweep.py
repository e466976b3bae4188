"""One-field sweeps (e.g. RR-Net accuracy by candidate count K or by number of
GCN units, the paper's figures 3-4 and table V), with a summary and a plot;
and seed repeats (`run_seeds`): mean ± std of every result over seeds and
paired per-seed comparisons of the model against the baselines and
ablations of the same runs."""

from __future__ import annotations

import copy
import logging
import math
import os
import shutil
from typing import Any, Sequence

import ml_collections
import numpy as np

from xmjax.configs.fields import field_problem, get_field, set_field
from xmjax.errors import InputError
from xmjax.process import is_primary
from xmjax.train import provenance
from xmjax.train.runner import get_task, train_and_evaluate
from xmjax.train.files import write_json_atomic

log = logging.getLogger("xmjax")



def _get(config, field):
  problem = field_problem(config, field, source="--sweep_field")
  if problem:
    raise InputError(problem)
  return get_field(config, field)


_set = set_field


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


def with_fields(config: ml_collections.ConfigDict, fields: Sequence[str], value: Any):
  """A copy of config with every one of `fields` set to `value` (one sweep point)."""
  point = copy.deepcopy(config)
  for field in fields:
    _set(point, field, value)
  return point


def chosen_metric(results: dict, metric: str | None) -> str:
  """`metric`, or the default one, checked to be in `results`."""
  metric = metric or default_metric(results)
  if metric not in results:
    raise InputError(f"--metric: {metric!r} is not in the results; have {sorted(results)}")
  return metric


def default_metric(results: dict) -> str:
  for suffix in ("/test_accuracy", "/map_mean", "/test_rmse", "/rsum"):
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
  shared = [s for s in get_task(config.experiment).stages_for(config)
            if s.outputs and not s.depends_on(field)]
  points, first_dir = [], None
  for value in values:
    point = with_fields(config, (field,), value)
    point_dir = os.path.join(workdir, f"{field}={value}")
    if first_dir:
      for stage in shared:
        share_stage(stage, first_dir, point_dir)
    log.info("sweep: %s=%s in %s", field, value, point_dir)
    results = train_and_evaluate(point, point_dir)
    first_dir = first_dir or point_dir
    metric = chosen_metric(results, metric)
    points.append({"value": value, "workdir": point_dir, "results": results})
  summary = {"field": field, "metric": metric, "points": points}
  write_json_atomic(os.path.join(workdir, "sweep.json"), summary)
  plot_sweep(summary, os.path.join(workdir, "plots", f"sweep_{field}.png"))
  return summary


def run_seeds(config: ml_collections.ConfigDict, workdir: str, seeds: Sequence[int],
              seed_fields: Sequence[str] = ("seed",), metric: str | None = None) -> dict[str, Any]:
  """Runs config once per seed (every field in `seed_fields` set to it) in
  workdir/seed=<s>/ (each resumable like any run); writes workdir/seeds.json
  and workdir/seeds.md: for every numeric result, the mean, the sample
  standard deviation and the per-seed values; for `metric` (default: the
  model's test accuracy, mAP or RMSE), the paired difference from every
  other result with the same name under another prefix (its baseline, CCA,
  the training mean, ablations), per seed and as mean ± std, with a paired
  t-test and a two-sided sign test."""
  if len(set(seeds)) < 2:
    raise InputError(f"--seeds: need at least two different seeds, got {list(seeds)}")
  for field in seed_fields:
    if not isinstance(_get(config, field), int):
      raise InputError(f"--seed_fields: config.{field} is not an integer field")
  per_seed = []
  for seed in seeds:
    point = with_fields(config, seed_fields, int(seed))
    point_dir = os.path.join(workdir, f"seed={seed}")
    log.info("seeds: %s=%d in %s", ",".join(seed_fields), seed, point_dir)
    per_seed.append(train_and_evaluate(point, point_dir))
  metric = chosen_metric(per_seed[0], metric)
  summary = {"seeds": [int(s) for s in seeds], "seed_fields": list(seed_fields),
             "metric": metric, "results": summarize(per_seed),
             "paired": paired_comparisons(per_seed, metric)}
  write_json_atomic(os.path.join(workdir, "seeds.json"), summary)
  if is_primary():
    with open(os.path.join(workdir, "seeds.md"), "w") as f:
      f.write(seeds_markdown(summary))
  return summary


def summarize(per_seed: Sequence[dict]) -> dict[str, dict]:
  """name -> {mean, std (ddof=1), values} for every numeric result all seeds have."""
  out = {}
  for name in sorted(per_seed[0]):
    values = [r.get(name) for r in per_seed]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
      array = np.asarray(values, np.float64)
      out[name] = {"mean": float(array.mean()), "std": float(array.std(ddof=1)),
                   "values": [float(v) for v in values]}
  return out


def paired_comparisons(per_seed: Sequence[dict], metric: str) -> dict[str, dict]:
  """`metric` minus each same-named result under another prefix, paired by seed."""
  from scipy import stats
  prefix, _, rest = metric.partition("/")
  others = sorted(k for k in per_seed[0] if k.partition("/")[2] == rest
                  and k.partition("/")[0] != prefix and all(k in r for r in per_seed))
  out = {}
  for other in others:
    diff = np.array([r[metric] - r[other] for r in per_seed], np.float64)
    std = float(diff.std(ddof=1))
    if std > 0:
      t_p = float(stats.ttest_rel([r[metric] for r in per_seed],
                                  [r[other] for r in per_seed]).pvalue)
    else:  # every seed the same difference: the t-test is undefined
      t_p = 1.0 if diff[0] == 0 else 0.0
    # Metrics come as float32 from a device or float64 from NumPy (0.99 is
    # 0.99000001 in float32): a difference within float32 resolution of the
    # values is a tie, which the sign test leaves out.
    scale = max(abs(r[metric]) for r in per_seed) or 1.0
    resolved = np.where(np.abs(diff) > 1e-6 * scale, diff, 0.0)
    above, below = int((resolved > 0).sum()), int((resolved < 0).sum())
    sign_p = float(stats.binomtest(above, above + below).pvalue) if above + below else 1.0
    out[other] = {"difference_mean": float(diff.mean()), "difference_std": std,
                  "differences": [float(d) for d in diff], "above": above, "below": below,
                  "paired_t_p": t_p if math.isfinite(t_p) else 1.0, "sign_test_p": sign_p}
  return out


def seeds_markdown(summary: dict) -> str:
  """The seeds summary as a Markdown table (results, then paired differences)."""
  seeds = summary["seeds"]
  lines = [f"Seeds {seeds} (varying config.{', config.'.join(summary['seed_fields'])}); "
           f"mean ± std (ddof=1) over {len(seeds)} runs.", "",
           "| result | mean ± std | per seed |", "|---|---|---|"]
  for name, s in summary["results"].items():
    lines.append(f"| {name} | {s['mean']:.4f} ± {s['std']:.4f} | "
                 f"{' '.join(f'{v:.4f}' for v in s['values'])} |")
  if summary["paired"]:
    lines += ["", f"Paired by seed: {summary['metric']} minus ...", "",
              "| other | difference mean ± std | above / below | paired t p | sign test p |",
              "|---|---|---|---|---|"]
    for other, p in summary["paired"].items():
      lines.append(f"| {other} | {p['difference_mean']:+.4f} ± {p['difference_std']:.4f} | "
                   f"{p['above']} / {p['below']} | {p['paired_t_p']:.3g} | "
                   f"{p['sign_test_p']:.3g} |")
  return "\n".join(lines) + "\n"


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
