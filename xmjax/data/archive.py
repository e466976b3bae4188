"""Files of a data set read where they lie: a directory, or a `.tar` /
`.tar.gz` / `.tgz` archive read member by member (never unpacked to disk),
and the arrays decoded from them cached as `.npz`, so a data set is decoded
once per machine, not once per run.

A file is named `SOURCE:MEMBER` in errors (`cifar10_jpeg.tar.gz:train/cat/0001.jpg`),
so a bad file can be found in the archive it came from.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tarfile
import tempfile
from typing import Callable, Iterator, Mapping

import numpy as np

from xmjax.errors import InputError

log = logging.getLogger("xmjax")

__all__ = ["ARCHIVE_SUFFIXES", "cache_directory", "cached_arrays", "iter_files", "list_files",
           "source_fingerprint"]

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def _member_name(name: str) -> str:
  return name[2:] if name.startswith("./") else name


def _is_archive(source: str) -> bool:
  return source.endswith(ARCHIVE_SUFFIXES)


def _check_source(source: str, field: str) -> None:
  if not source:
    raise InputError(f"{field}: set it to a directory or a {'/'.join(ARCHIVE_SUFFIXES)} archive")
  if not os.path.exists(source):
    raise InputError(f"{field}: {source}: no such file or directory")
  if not os.path.isdir(source) and not _is_archive(source):
    raise InputError(f"{field}: {source}: neither a directory nor a "
                     f"{'/'.join(ARCHIVE_SUFFIXES)} archive")


def list_files(source: str, field: str = "config.data.path") -> list[str]:
  """Every regular file under `source` (relative paths with '/', sorted);
  directories are implied by the paths."""
  _check_source(source, field)
  if os.path.isdir(source):
    out = []
    for root, _, files in os.walk(source):
      rel = os.path.relpath(root, source)
      out.extend(name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}" for name in files)
    return sorted(out)
  try:
    with tarfile.open(source) as tar:
      return sorted(_member_name(m.name) for m in tar.getmembers() if m.isfile())
  except (tarfile.TarError, OSError, EOFError) as e:
    raise InputError(f"{source}: not a readable tar archive ({type(e).__name__}: {e})") from None


def iter_files(source: str, wanted: Callable[[str], bool], field: str = "config.data.path"
               ) -> Iterator[tuple[str, bytes]]:
  """(relative path, contents) of every file under `source` that `wanted`
  keeps, in archive order (directory: sorted); an archive is read once,
  sequentially, which is what a gzip stream allows cheaply."""
  _check_source(source, field)
  if os.path.isdir(source):
    for name in list_files(source, field):
      if wanted(name):
        with open(os.path.join(source, name), "rb") as f:
          yield name, f.read()
    return
  try:
    with tarfile.open(source, mode="r|*") as tar:
      for member in tar:
        name = _member_name(member.name)
        if member.isfile() and wanted(name):
          yield name, tar.extractfile(member).read()
  except (tarfile.TarError, OSError, EOFError) as e:
    raise InputError(f"{source}: not a readable tar archive ({type(e).__name__}: {e})") from None


def source_fingerprint(source: str) -> dict:
  """What identifies a source's content cheaply: an archive's size and
  modification time; a directory's file names, sizes and times."""
  real = os.path.realpath(source)
  if os.path.isdir(real):
    digest = hashlib.sha256()
    for name in list_files(real):
      st = os.stat(os.path.join(real, name))
      digest.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return {"path": real, "tree": digest.hexdigest()}
  st = os.stat(real)
  return {"path": real, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cache_directory(cache_dir: str = "") -> str:
  """`cache_dir`, else $XMJAX_CACHE_DIR, else ~/.cache/xmjax."""
  return (cache_dir or os.environ.get("XMJAX_CACHE_DIR")
          or os.path.join(os.path.expanduser("~"), ".cache", "xmjax"))


def cached_arrays(kind: str, source: str, options: Mapping, decode: Callable[[], dict],
                  cache_dir: str = "") -> dict[str, np.ndarray]:
  """`decode()`'s arrays, from the cache when the same source (same
  fingerprint) was decoded with the same `options` before. The cache file is
  written atomically; an unreadable one is decoded again and replaced."""
  _check_source(source, "config.data.path")
  key = json.dumps({"kind": kind, "source": source_fingerprint(source), "options": options},
                   sort_keys=True, default=str)
  name = f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"
  directory = cache_directory(cache_dir)
  path = os.path.join(directory, name)
  if os.path.exists(path):
    try:
      with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
      log.info("%s: decoded arrays from the cache %s", source, path)
      return arrays
    except Exception as e:  # a torn or foreign file: decode again
      log.warning("%s: unreadable cache file (%s: %s); decoding again", path,
                  type(e).__name__, e)
  arrays = decode()
  try:
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".npz.tmp")
    with os.fdopen(fd, "wb") as f:
      buffer = io.BytesIO()
      np.savez(buffer, **arrays)
      f.write(buffer.getvalue())
    os.replace(tmp, path)
    log.info("%s: decoded arrays cached in %s", source, path)
  except OSError as e:  # a read-only home still runs, decoding every time
    log.warning("%s: cannot write the cache (%s); set config.data.cache_dir", directory, e)
  return arrays
