"""The files a run writes: whole or not at all, and readable like any other file."""

import json
import os

import numpy as np
import pytest

from xmjax.train.files import save_npy_atomic, save_npz_atomic, write_atomic, write_json_atomic


def ordinary_mode():
  umask = os.umask(0)
  os.umask(umask)
  return 0o666 & ~umask


def test_each_writer_gives_back_what_it_was_handed_with_an_ordinary_mode(tmp_path):
  write_json_atomic(str(tmp_path / "r.json"), {"b": 1, "a": [0.5]})
  save_npz_atomic(str(tmp_path / "c.npz"), x=np.arange(3), y=np.eye(2))
  save_npy_atomic(str(tmp_path / "s.npy"), np.full((2, 3), 0.25, np.float32))
  assert json.loads((tmp_path / "r.json").read_text()) == {"a": [0.5], "b": 1}
  with np.load(tmp_path / "c.npz") as f:
    assert f["x"].tolist() == [0, 1, 2] and f["y"].tolist() == [[1, 0], [0, 1]]
  loaded = np.load(tmp_path / "s.npy")
  assert loaded.dtype == np.float32 and loaded.shape == (2, 3) and (loaded == 0.25).all()
  assert sorted(os.listdir(tmp_path)) == ["c.npz", "r.json", "s.npy"]   # no temporary left
  for name in ("r.json", "c.npz", "s.npy"):   # not mkstemp's 0600
    assert os.stat(tmp_path / name).st_mode & 0o777 == ordinary_mode(), name


def test_a_write_that_fails_leaves_the_earlier_file_and_no_temporary(tmp_path):
  path = tmp_path / "similarity.npy"
  save_npy_atomic(str(path), np.zeros(4))

  def half_then_fail(tmp):
    with open(tmp, "wb") as f:
      f.write(b"\x93NUMPY")   # the start of a file, then the disk is full
    raise OSError("No space left on device")

  with pytest.raises(OSError, match="No space"):
    write_atomic(str(path), half_then_fail, suffix=".npy")
  assert np.load(path).tolist() == [0, 0, 0, 0]
  assert os.listdir(tmp_path) == ["similarity.npy"]
  with pytest.raises(ValueError):   # arrays only: nothing a reader would have to unpickle
    save_npy_atomic(str(path), np.array([{"a": 1}], dtype=object))
  assert os.listdir(tmp_path) == ["similarity.npy"]
