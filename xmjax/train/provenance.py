"""Stage provenance: a finished stage is reused only for the config it was made with.

Every experiment declares its stages (`Stage`: a name and the config fields
it depends on). Before a run writes anything to its workdir, `claim_stages`
compares each stage's fingerprint (the values of those fields, plus size,
modification time and, for files up to 64 MiB, a SHA-256 of every input file
a depended-on field names) with the one recorded in `workdir/stages.json`:

- no record: the stage is new here; its fingerprint is recorded;
- the same: the stage (its checkpoints, cached outputs) is reused;
- different: `StageMismatch` (an InputError, so the launchers exit 2) naming
  the stage and the fields that differ, and suggesting a fresh workdir.
  Nothing has been written at that point, so the old results stay intact.

Fields that never change what a stage computes (the run's name, logging and
checkpoint intervals, the device mesh) are left out, so a run can be resumed
with other logging or on another number of devices. A workdir made before
stages were recorded (a config.json but no stages.json) is compared with its
config.json as a whole.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any, Iterable, Mapping, Sequence

from xmjax.errors import InputError
from xmjax.train.files import write_json_atomic

STAGES_FILE = "stages.json"
HASH_LIMIT_BYTES = 64 * 2 ** 20

# Fields that never change a stage's result: top-level ones (with their
# subtree), and intervals wherever they sit. `data.name` or
# `rrnet.optimizer.name` are not the run's name: they stay in.
IGNORED_TOP_LEVEL = ("name", "mesh")
IGNORED_ANYWHERE = ("log_every", "checkpoint_every")


@dataclasses.dataclass(frozen=True)
class Stage:
  """A named stage and the config fields its result depends on.

  include: dotted prefixes ("baseline.", "data.") or exact fields ("seed");
    empty = the whole config.
  exclude: prefixes or fields left out of `include` (e.g. "eval.": fields
    only the evaluation after training reads).
  outputs: workdir-relative files holding the finished stage's product; a
    sweep copies them to every point whose swept field the stage does not
    depend on, so the stage runs once per sweep.
  """
  name: str
  include: tuple[str, ...] = ()
  exclude: tuple[str, ...] = ()
  outputs: tuple[str, ...] = ()

  def depends_on(self, field: str) -> bool:
    def matches(patterns):
      return any(field == p or (p.endswith(".") and field.startswith(p)) or
                 field.startswith(p + ".") for p in patterns)
    if field.split(".")[0] in IGNORED_TOP_LEVEL or field.split(".")[-1] in IGNORED_ANYWHERE:
      return False
    return (not self.include or matches(self.include)) and not matches(self.exclude)


class StageMismatch(InputError):
  """A workdir's stage was made with other values of fields it depends on."""


def flatten(config) -> dict[str, Any]:
  """ConfigDict or dict -> {"a.b.c": JSON-able value}."""
  out = {}

  def walk(node, prefix):
    for key, value in (node.items() if hasattr(node, "items") else ()):
      path = f"{prefix}{key}"
      if hasattr(value, "items"):
        walk(value, path + ".")
      else:
        out[path] = list(value) if isinstance(value, tuple) else value
  walk(config, "")
  return out


def file_signature(path: str) -> dict[str, Any] | None:
  """size, mtime and (small files) content hash of an existing file; None otherwise."""
  if not isinstance(path, str) or not path or not os.path.isfile(path):
    return None
  info = os.stat(path)
  signature = {"path": os.path.abspath(path), "size": info.st_size, "mtime_ns": info.st_mtime_ns}
  if info.st_size <= HASH_LIMIT_BYTES:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
      for chunk in iter(lambda: f.read(1 << 20), b""):
        digest.update(chunk)
    signature["sha256"] = digest.hexdigest()
  return signature


def fingerprint(config, stage: Stage, inputs: Iterable[str] = ()) -> dict[str, Any]:
  """{"config": depended-on field values, "inputs": signatures of the files
  those fields name, plus `inputs` (paths a task resolves itself)}."""
  fields = {k: v for k, v in sorted(flatten(config).items()) if stage.depends_on(k)}
  files = {f"config.{k}": sig for k, v in fields.items() if (sig := file_signature(v))}
  files.update({path: sig for path in inputs if (sig := file_signature(path))})
  return {"config": fields, "inputs": files}


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
  """Names of the fields and inputs whose recorded values differ."""
  changed = []
  for part, label in (("config", "config."), ("inputs", "input ")):
    a, b = old.get(part, {}), new.get(part, {})
    for key in sorted(set(a) | set(b)):
      if a.get(key) != b.get(key):
        changed.append(f"{label}{key}")
  return changed


def _describe(old, new, field: str) -> str:
  if field.startswith("config."):
    key = field[len("config."):]
    before = old.get("config", {}).get(key, "<absent>")
    after = new.get("config", {}).get(key, "<absent>")
    return f"{key} ({before!r} -> {after!r})"
  return field


def load_stages(workdir: str) -> dict[str, Any]:
  path = os.path.join(workdir, STAGES_FILE)
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return json.load(f)


def check_stages(config, workdir: str, stages: Sequence[Stage],
                 inputs: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
  """The fingerprints of `stages` for this config; raises StageMismatch if
  the workdir holds any of them made otherwise. Writes nothing."""
  inputs = inputs or {}
  fingerprints = {s.name: fingerprint(config, s, inputs.get(s.name, ())) for s in stages}
  recorded = load_stages(workdir)
  legacy = os.path.join(workdir, "config.json")
  if not recorded and os.path.exists(legacy):
    with open(legacy) as f:
      saved = json.load(f)
    whole = Stage("whole run")
    changed = differences({"config": {k: v for k, v in flatten(saved).items()
                                      if whole.depends_on(k)}},
                          {"config": fingerprint(config, whole)["config"]})
    if changed:
      raise StageMismatch(_message(workdir, "(recorded before stage fingerprints)",
                                   [_describe({"config": flatten(saved)},
                                              {"config": flatten(config)}, c) for c in changed]))
  for stage in stages:
    old = recorded.get(stage.name)
    if old is not None:
      changed = differences(old, fingerprints[stage.name])
      if changed:
        raise StageMismatch(_message(workdir, repr(stage.name),
                                     [_describe(old, fingerprints[stage.name], c) for c in changed]))
  return fingerprints


def _message(workdir: str, stage: str, changed: list[str]) -> str:
  return (f"--workdir {workdir}: stage {stage} there was made with a different config; "
          f"differing: {', '.join(changed)}. Use a fresh --workdir (or the original "
          "config to resume that run)")


def record_stages(workdir: str, fingerprints: Mapping[str, Any]) -> None:
  """Adds the fingerprints to workdir/stages.json (the primary process only)."""
  from xmjax import process
  if not process.is_primary():
    return
  os.makedirs(workdir, exist_ok=True)
  write_json_atomic(os.path.join(workdir, STAGES_FILE),
                    {**load_stages(workdir), **fingerprints})


def claim_stages(config, workdir: str, stages: Sequence[Stage],
                 inputs: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
  """check_stages, then record_stages: call before anything is written."""
  fingerprints = check_stages(config, workdir, stages, inputs)
  record_stages(workdir, fingerprints)
  return fingerprints
