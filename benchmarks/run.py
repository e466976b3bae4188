"""Benchmark entry point.

    python -m benchmarks.run --suite=rrnet|knn|all [--quick] [--out=FILE.json] [--no-append]

Prints one row per workload and appends a dated table with the hardware line
to benchmarks/RESULTS.md (unless --no-append).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import sys

from benchmarks.harness import device_line
from benchmarks.suites import SUITES

RESULTS_MD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def _fmt(x, spec=".3g"):
  return "-" if x is None else format(x, spec)


def table(records) -> str:
  lines = ["| suite | workload | impl | sizes | compile s | median s | spread s | throughput | GFLOP/s |",
           "|---|---|---|---|---|---|---|---|---|"]
  for r in records:
    sizes = ", ".join(f"{k}={v}" for k, v in r.sizes.items())
    gflops = r.flops_per_s / 1e9 if r.flops_per_s else None
    lines.append(f"| {r.suite} | {r.workload} | {r.impl} | {sizes} | {r.compile_s:.2f} | "
                 f"{r.median_s:.4g} | {r.spread_s:.2g} | {r.throughput:.3g} {r.unit} | {_fmt(gflops)} |")
  return "\n".join(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--suite", default="all", choices=sorted(SUITES) + ["all"])
  parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes on 2 CPU cores")
  parser.add_argument("--out", default=None, help="write JSON records here")
  parser.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
  args = parser.parse_args(argv)
  names = sorted(SUITES) if args.suite == "all" else [args.suite]
  records = []
  for name in names:
    print(f"running {name}{' (quick)' if args.quick else ''} ...", file=sys.stderr, flush=True)
    records += SUITES[name](args.quick)
  text = table(records)
  print(text)
  if args.out:
    with open(args.out, "w") as f:
      json.dump([dataclasses.asdict(r) for r in records], f, indent=2)
  if not args.no_append:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
    with open(RESULTS_MD, "a") as f:
      f.write(f"\n## {stamp}: {device_line()}\n\n`{command.strip()}`\n\n{text}\n")
  return 0


if __name__ == "__main__":
  sys.exit(main())
