"""Paired statistics of the relational scenes' minimal pairs over several runs.

    # 3 data seeds x 3 model seeds of the shipped config, then the statistics:
    for d in 0 1 2; do
      python launch/sweep.py --config=configs/racg_scenes.py --workdir=/tmp/xmjax/scenes/data$d \
          --seeds=0,1,2 --config.data.scenes.seed=$d
    done
    python launch/minimal_pairs.py --workdirs=/tmp/xmjax/scenes/data0,/tmp/xmjax/scenes/data1,/tmp/xmjax/scenes/data2

Each WORKDIR is a `launch/sweep.py --seeds` directory (its `seed=K` runs)
or one run. For every model whose `<model>/similarity.npy` all runs have
(racg, racg_no_cross, vse, scan_t2i, ...), per contrast (spatial; colour,
the control): the run-level `minimal_pair_<contrast>` (mean ± std over the
runs), `--model` minus each other model paired by run (paired t-test), and
paired over the sibling pairs: each pair's win rate averaged over the model
seeds of its data set, `--model` minus the other over every pair of that
contrast (Wilcoxon signed-rank, zero differences dropped). Writes
`--out`/minimal_pairs.json and .md (default: the first WORKDIR's parent).
"""

from __future__ import annotations

import glob
import json
import os

from absl import app, flags
import ml_collections
import numpy as np

from xmjax.commands.common import fail, quiet_libraries

_WORKDIRS = flags.DEFINE_list("workdirs", [], "Sweep directories (one per data set) or runs.")
_MODEL = flags.DEFINE_string("model", "racg", "The model compared with every other.")
_OUT = flags.DEFINE_string("out", "", "Where to write minimal_pairs.json/.md.")


def runs_of(workdir: str) -> list[str]:
  seeds = sorted(glob.glob(os.path.join(workdir, "seed=*")))
  return seeds or [workdir]


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  quiet_libraries()
  from scipy import stats
  from xmjax import metrics
  from xmjax.data.scenes import CONTRASTS
  from xmjax.errors import InputError
  from xmjax.data.image_text import load_image_text
  try:
    if not _WORKDIRS.value:
      raise InputError("--workdirs: give at least one sweep directory or run")
    per_run, per_pair = [], []   # per_pair: one dict per data set, model -> (pairs,)
    models = None
    for workdir in _WORKDIRS.value:
      runs = runs_of(workdir)
      pair_scores, contrast = {}, None
      for run in runs:
        path = os.path.join(run, "config.json")
        if not os.path.exists(path):
          raise InputError(f"{path}: not found; expected a run of configs/racg_scenes.py")
        with open(path) as f:
          config = ml_collections.ConfigDict(json.load(f))
        if config.data.name != "scenes":
          raise InputError(f"{path}: data.name is {config.data.name!r}; minimal pairs need scenes")
        here = sorted(os.path.basename(os.path.dirname(p))
                      for p in glob.glob(os.path.join(run, "*", "similarity.npy")))
        models = here if models is None else [m for m in models if m in here]
        images = load_image_text(config.data).test_images
        contrast = images.contrast[0::2]
        row = {"run": run}
        for model in here:
          sims = np.load(os.path.join(run, model, "similarity.npy"))
          t2i, i2t = metrics.minimal_pair_wins(sims)
          by_pair = ((t2i + i2t) / 2).reshape(-1, 2).mean(1)     # (pairs,)
          pair_scores.setdefault(model, []).append(by_pair)
          for index, name in enumerate(CONTRASTS):
            row[f"{model}/{name}"] = float(100 * by_pair[contrast == index].mean())
        per_run.append(row)
      per_pair.append({"contrast": contrast,
                       **{m: np.mean(v, axis=0) for m, v in pair_scores.items()}})
    if _MODEL.value not in models:
      raise InputError(f"--model: {_MODEL.value!r} is not among the runs' models {models}")
  except InputError as e:
    fail(str(e))

  summary = {"runs": [r["run"] for r in per_run], "model": _MODEL.value, "contrasts": {}}
  lines = [f"{len(per_run)} runs ({len(_WORKDIRS.value)} data sets); minimal pairs won, "
           f"percent (chance 50), mean ± std over runs.", ""]
  for index, name in enumerate(CONTRASTS):
    block = {"models": {}, "paired": {}}
    lines += [f"**{name}** ({sum(int((p['contrast'] == index).sum()) for p in per_pair)} "
              f"sibling pairs)", "", "| model | mean ± std | per run |", "|---|---|---|"]
    for model in models:
      values = np.array([r[f"{model}/{name}"] for r in per_run])
      block["models"][model] = {"mean": float(values.mean()), "std": float(values.std(ddof=1))
                                if len(values) > 1 else 0.0, "values": values.tolist()}
      lines.append(f"| {model} | {values.mean():.1f} ± {block['models'][model]['std']:.1f} | "
                   f"{' '.join(f'{v:.1f}' for v in values)} |")
    lines += ["", f"{_MODEL.value} minus ...", "",
              "| other | by run: mean ± std, paired t p | by sibling pair: mean, Wilcoxon p |",
              "|---|---|---|"]
    mine = np.array([r[f"{_MODEL.value}/{name}"] for r in per_run])
    for other in (m for m in models if m != _MODEL.value):
      theirs = np.array([r[f"{other}/{name}"] for r in per_run])
      diff = mine - theirs
      t_p = float(stats.ttest_rel(mine, theirs).pvalue) if len(diff) > 1 and diff.std() > 0 \
          else 1.0
      pairs = np.concatenate([100 * (p[_MODEL.value] - p[other])[p["contrast"] == index]
                              for p in per_pair])
      w_p = float(stats.wilcoxon(pairs).pvalue) if np.any(pairs != 0) else 1.0
      block["paired"][other] = {
          "run_difference_mean": float(diff.mean()),
          "run_difference_std": float(diff.std(ddof=1)) if len(diff) > 1 else 0.0,
          "paired_t_p": t_p, "pair_difference_mean": float(pairs.mean()),
          "num_pairs": int(len(pairs)), "wilcoxon_p": w_p}
      lines.append(f"| {other} | {diff.mean():+.1f} ± {block['paired'][other]['run_difference_std']:.1f}"
                   f", p = {t_p:.3g} | {pairs.mean():+.1f}, p = {w_p:.3g} |")
    lines.append("")
    summary["contrasts"][name] = block
  out = _OUT.value or os.path.dirname(os.path.abspath(_WORKDIRS.value[0]))
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, "minimal_pairs.json"), "w") as f:
    json.dump(summary, f, indent=2)
  with open(os.path.join(out, "minimal_pairs.md"), "w") as f:
    f.write("\n".join(lines))
  print("\n".join(lines))


if __name__ == "__main__":
  app.run(main)
