"""Merges the per-suite JSON records of a GPU run into one JSON list and one
RESULTS.md section (device line, command, table with ratios and % of peak).

    python -m benchmarks.gpu.merge OUT.json OUT.md RUN.json [RUN.json ...]
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import sys

from benchmarks.harness import DEVICE_PEAKS, Record
from benchmarks.run import reference_ratios, table


def load(paths) -> list[Record]:
  fields = {f.name for f in dataclasses.fields(Record)}
  records = []
  for path in paths:
    with open(path) as f:
      records += [Record(**{k: v for k, v in r.items() if k in fields}) for r in json.load(f)]
  return records


def main(argv) -> int:
  out_json, out_md, *paths = argv
  records = load(paths)
  if not records:
    print("no records", file=sys.stderr)
    return 1
  device = records[0].device
  peaks = next((p for kind, p in DEVICE_PEAKS.items() if kind in device), None)
  ratios = reference_ratios(records)
  with open(out_json, "w") as f:
    json.dump([dict(dataclasses.asdict(r), xmjax_over_this=ratios.get(i))
               for i, r in enumerate(records)], f, indent=2)
  stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
  suites = ",".join(dict.fromkeys(r.suite for r in records))
  with open(out_md, "w") as f:
    f.write(f"## {stamp}: {device}\n\n`bash benchmarks/gpu/run.sh` (suites: {suites})\n\n"
            f"{table(records, peaks)}\n")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
