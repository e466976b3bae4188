"""The files a run writes (results, configs, stage records, caches, arrays), each in one rename.

Every writer fills a temporary file next to its target and renames it over
the target, so a reader, an evaluation or a resumed run never sees half a
file, and a write that fails (a full disk, a killed process) leaves the
target as it was and no temporary file behind. Only the primary process
of a multi-host run writes (`xmjax.process`). Imports no JAX at import time.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import tempfile
from typing import Any, Callable, Mapping

import numpy as np

from xmjax.process import is_primary

__all__ = ["save_npy_atomic", "save_npz_atomic", "write_atomic", "write_json_atomic",
           "write_text_atomic"]


def _readable_mode(path: str) -> None:
  """A file made by mkstemp is 0600; give it the mode an ordinary open()
  gives (0666 less the umask), like metrics.jsonl."""
  umask = os.umask(0)
  os.umask(umask)
  os.chmod(path, 0o666 & ~umask)


def write_atomic(path: str, write: Callable[[str], None], suffix: str = ".tmp") -> None:
  """`write(temporary_path)` makes the file, which then replaces `path` in
  one rename (on the primary process only). `suffix` is the temporary
  file's ending, for writers that append their own (numpy's .npy, .npz)."""
  if not is_primary():
    return
  fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=suffix)
  os.close(fd)
  try:
    write(tmp)
    _readable_mode(tmp)
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(OSError):
      os.remove(tmp)
    raise


def write_text_atomic(path: str, text: str) -> None:
  write_atomic(path, lambda tmp: pathlib.Path(tmp).write_text(text))


def write_json_atomic(path: str, payload: Mapping[str, Any]) -> None:
  """`payload` as indented JSON with sorted keys."""
  write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def save_npz_atomic(path: str, **arrays: np.ndarray) -> None:
  write_atomic(path, lambda tmp: np.savez(tmp, **arrays), suffix=".npz")


def save_npy_atomic(path: str, array: np.ndarray) -> None:
  write_atomic(path, lambda tmp: np.save(tmp, array, allow_pickle=False), suffix=".npy")
