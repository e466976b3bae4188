"""Benchmark entry point.

    python -m benchmarks.run --suite=rrnet|drsl|sdml|racg|knn|resnet|all [--quick] \
        [--out=FILE.json] [--no-append] [--target=tpu-v5e|tpu-v5p|h100|host]

Prints one row per workload and implementation (xmjax and, with the `bench`
extra installed, the PyTorch reference at the same sizes, with the ratio of
throughputs) and appends a dated table with the hardware line to
benchmarks/RESULTS.md (unless --no-append). `--suite=knn_million` (the
1,000,000 x 512 kNN graph) runs only when named, and never with --quick.

`--target` compiles every workload for that chip without running it (no
device needed; benchmarks/targets.py says what is recorded and what each
target needs installed) and appends that table instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import sys

from benchmarks import targets
from benchmarks.harness import device_line, device_peaks
from benchmarks.suites import NAMED_ONLY, SUITES

RESULTS_MD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def _fmt(x, spec=".3g"):
  return "-" if x is None else format(x, spec)


def reference_ratios(records) -> dict[int, float]:
  """Per reference row (impl not xmjax): the xmjax throughput of the same
  suite, workload and unit divided by this reference's (> 1: xmjax faster).
  Several references of one workload (plain PyTorch, PyG, ...) each get theirs."""
  ratios = {}
  for i, r in enumerate(records):
    if r.impl.startswith("xmjax"):
      continue
    ours = [x for x in records if x.suite == r.suite and x.workload == r.workload
            and x.impl == "xmjax" and x.unit == r.unit]
    if ours:
      ratios[i] = ours[0].throughput / r.throughput
  return ratios


def peak_fractions(record, peaks) -> tuple[float | None, float | None]:
  """(achieved FLOP/s / the matmul peak at the record's precision, bytes/s /
  the memory peak), or Nones off the devices in DEVICE_PEAKS."""
  if not peaks:
    return None, None
  precision = "bf16" if "bfloat16" in f"{record.workload} {record.impl}" else "tf32"
  flop = record.flops_per_s / peaks[precision] if record.flops_per_s else None
  mem = record.bytes_per_s / peaks["bytes"] if record.bytes_per_s else None
  return flop, mem


def table(records, peaks=None) -> str:
  ratios = reference_ratios(records)
  lines = ["| suite | workload | impl | sizes | compile s | median s | spread s | throughput | "
           "GFLOP/s | GB/s | % peak FLOP/s | % peak bytes/s | xmjax / this |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
  for i, r in enumerate(records):
    sizes = ", ".join(f"{k}={v}" for k, v in r.sizes.items())
    gflops = r.flops_per_s / 1e9 if r.flops_per_s else None
    gbytes = r.bytes_per_s / 1e9 if r.bytes_per_s else None
    flop_frac, mem_frac = peak_fractions(r, peaks)
    pct = lambda x: "-" if x is None else f"{100 * x:.1f}"
    ratio = f"{ratios[i]:.3g}x" if i in ratios else "-"
    lines.append(f"| {r.suite} | {r.workload} | {r.impl} | {sizes} | {r.compile_s:.2f} | "
                 f"{r.median_s:.4g} | {r.spread_s:.2g} | {r.throughput:.3g} {r.unit} | "
                 f"{_fmt(gflops)} | {_fmt(gbytes)} | {pct(flop_frac)} | {pct(mem_frac)} | {ratio} |")
  return "\n".join(lines)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--suite", default="all", choices=sorted(SUITES) + ["all"])
  parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes on 2 CPU cores")
  parser.add_argument("--out", default=None, help="write JSON records here")
  parser.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
  parser.add_argument("--target", default=None, choices=sorted(targets.TARGETS),
                      help="compile for this chip instead of running (no device needed)")
  args = parser.parse_args(argv)
  target = targets.activate(args.target)
  names = sorted(set(SUITES) - set(NAMED_ONLY)) if args.suite == "all" else [args.suite]
  records = []
  try:
    for name in names:
      print(f"running {name}{' (quick)' if args.quick else ''}"
            f"{f' (compile-only for {target.name})' if target else ''} ...",
            file=sys.stderr, flush=True)
      records += [r for r in SUITES[name](args.quick) if r is not None]
  finally:
    targets.activate(None)
  if target is not None:
    text = f"{targets.peaks_line(target)}\n\n{targets.table(records)}"
    heading = f"compile-only for {target.chip}, compiled on {device_line()}"
  else:
    text, heading = table(records, device_peaks()), device_line()
  print(text)
  if args.out:
    with open(args.out, "w") as f:
      ratios = reference_ratios(records) if target is None else {}
      json.dump([dict(dataclasses.asdict(r), xmjax_over_this=ratios.get(i))
                 for i, r in enumerate(records)], f, indent=2)
  if not args.no_append:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
    with open(RESULTS_MD, "a") as f:
      f.write(f"\n## {stamp}: {heading}\n\n`{command.strip()}`\n\n{text}\n")
  return 0


if __name__ == "__main__":
  sys.exit(main())
