"""Peak memory and step time of RR-Net's rating task on real FilmTrust files
(or any librec-layout set, such as a generated one of Ciao's size).

    python -m benchmarks.ratings_memory --data=../shared/data/real/filmtrust \
        [--variants=all_items,all_items_chunked,rated_sampled] [--steps=3] [--no-append]
    python -m benchmarks.ratings_memory --make-ciao-sized=/tmp/ciao_sized
    python -m benchmarks.ratings_memory --data=/tmp/ciao_sized --variants=rated,rated_sparse

Each variant runs in its own process (so its peak resident set is its own):
the rrnet_ratings task's `RatingSplits` (xmjax.train.rrnet_rating_stage) on
the files with configs/rrnet_filmtrust.py plus the variant's overrides, `--steps` training steps of split 0 (the first
one includes compilation and is reported apart), then the split's test
prediction with the config's attribute draws. Peak RSS is the process's
`ru_maxrss` (what `/usr/bin/time -v` reports as "Maximum resident set size").
Appends a dated table to benchmarks/RESULTS.md unless --no-append.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import time

RESULTS_MD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")

# name -> config overrides on configs/rrnet_filmtrust.py
VARIANTS = {
    "all_items": {"rrnet.inter": "all_items", "rrnet.edge_chunk_size": 0},
    "all_items_remat": {"rrnet.inter": "all_items", "rrnet.edge_chunk_size": 0, "rrnet.remat": True},
    "all_items_chunked": {"rrnet.inter": "all_items", "rrnet.edge_chunk_size": 100_000},
    "rated_sampled": {"rrnet.inter": "rated_sampled", "rrnet.edge_chunk_size": 0},
    "rated_sampled_sparse": {"rrnet.inter": "rated_sampled", "rrnet.edge_chunk_size": 0,
                             "rrnet.attribute_layout": "sparse"},
    # configs/rrnet_ciao.py's graph (inter edges along the rated pairs), its
    # rating attributes dense (users x items) or sparse (SparseRows).
    "rated": {"rrnet.inter": "rated", "rrnet.edge_chunk_size": 0,
              "rrnet.attribute_layout": "dense"},
    "rated_sparse": {"rrnet.inter": "rated", "rrnet.edge_chunk_size": 0,
                     "rrnet.attribute_layout": "sparse"},
}

# A generated set of the size of the public Ciao release after the paper's id
# filter (about 7,400 users, 99,000 items, 280,000 ratings, 5 trust links each).
CIAO_SIZED = dict(num_users=7_400, num_items=99_000, ratings_per_user=38, trust_per_user=5)


def make_ciao_sized(directory: str) -> None:
  from xmjax.data.synthetic import make_social_ratings, write_librec
  arrays = make_social_ratings(**CIAO_SIZED, seed=0)
  write_librec(directory, arrays["ratings"], arrays["trust"])


def _child(data: str, variant: str, steps: int) -> dict:
  import jax
  import numpy as np

  from xmjax.configs import sibling_config
  from xmjax.configs.fields import set_field
  from xmjax.train.runner import compiled, get_task

  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  config = sibling_config(os.path.join(repo, "configs", "x.py"), "rrnet_filmtrust").get_config()
  with config.unlocked():
    config.data.dir = data
    config.data.num_splits = 1
    for field, value in VARIANTS[variant].items():
      set_field(config, field, value)
  start = time.perf_counter()
  problem = get_task(config.experiment).prepare(config)   # the task's data: a RatingSplits
  stage = problem.stage(0)
  state = stage.init()
  setup_s = time.perf_counter() - start
  step = compiled(stage.step, **stage.static)
  times = []
  for i in range(steps):
    t = time.perf_counter()
    state, metrics = step(state, *stage.data, *stage.batches(i))
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - t)
  t = time.perf_counter()
  predicted = problem.predict(state, 0)
  predict_s = time.perf_counter() - t
  return {"variant": variant, "inter_edges": int(problem.graph.inter.senders.shape[0]),
          "chunks": int(problem.edge_chunks),
          "setup_s": setup_s, "first_step_s": times[0],
          "step_s": float(np.median(times[1:])) if steps > 1 else None,
          "predict_s": predict_s, "draws": int(config.rrnet.prediction_draws),
          "finite": bool(np.isfinite(predicted).all()),
          "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data", help="directory with ratings.txt and trust.txt")
  parser.add_argument("--make-ciao-sized", default="",
                      help="write a generated Ciao-sized librec set to this directory and exit")
  parser.add_argument("--variants", default="all_items,all_items_chunked,rated_sampled")
  parser.add_argument("--steps", type=int, default=3)
  parser.add_argument("--no-append", action="store_true")
  parser.add_argument("--child", default="", help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  if args.make_ciao_sized:
    make_ciao_sized(args.make_ciao_sized)
    return 0
  if not args.data:
    parser.error("--data: a directory with ratings.txt and trust.txt is needed")
  if args.child:
    print(json.dumps(_child(args.data, args.child, args.steps)))
    return 0
  rows = []
  for variant in args.variants.split(","):
    if variant not in VARIANTS:
      parser.error(f"--variants: unknown {variant!r}; choose from {sorted(VARIANTS)}")
    print(f"running {variant} ...", file=sys.stderr, flush=True)
    out = subprocess.run([sys.executable, "-m", "benchmarks.ratings_memory", "--data", args.data,
                          "--steps", str(args.steps), "--child", variant],
                         capture_output=True, text=True)
    if out.returncode:
      print(out.stderr[-3000:], file=sys.stderr)
      return out.returncode
    rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
  import jax
  fmt = lambda x, spec: "-" if x is None else format(x, spec)
  lines = ["| variant | inter edges | edge chunks | peak RSS GB | setup s | first step s (compile) | "
           "step s | predict s (draws) |", "|---|---|---|---|---|---|---|---|"]
  for r in rows:
    lines.append(f"| {r['variant']} | {r['inter_edges']:,} | {r['chunks'] or '-'} | "
                 f"{r['peak_rss_gb']:.2f} | "
                 f"{r['setup_s']:.1f} | {r['first_step_s']:.1f} | {fmt(r['step_s'], '.2f')} | "
                 f"{r['predict_s']:.1f} ({r['draws']}) |")
  text = "\n".join(lines)
  print(text)
  if not args.no_append:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m benchmarks.ratings_memory " + " ".join(
        argv if argv is not None else sys.argv[1:])
    device = f"{jax.default_backend()}, {os.cpu_count()} host cores, jax {jax.__version__}"
    with open(RESULTS_MD, "a") as f:
      f.write(f"\n## {stamp}: RR-Net ratings, {os.path.basename(os.path.normpath(args.data))} "
              f"({device})\n\n"
              f"`{command.strip()}`\n\n{text}\n")
  return 0


if __name__ == "__main__":
  sys.exit(main())
