"""Loaders for the papers' real layouts, on small files the tests write:
image folders (directory and .tar.gz), ESC spectrogram folders, rating
releases with off-grid and repeated rows; and the ratings graph's sampled
unrated inter edges."""

import os
import tarfile

import numpy as np
import pytest
from PIL import Image

from xmjax.data import archive
from xmjax.data.esc_spectrograms import load_esc_spectrograms, target_of_folder
from xmjax.data.image_folder import load_image_folder
from xmjax.data.ratings import load_librec
from xmjax.errors import InputError


def _tar(directory, path):
  with tarfile.open(path, "w:gz") as tar:
    for name in sorted(os.listdir(directory)):
      tar.add(os.path.join(directory, name), arcname=name)
  return str(path)


def _image_folder(root, sizes=None, classes=("cat", "dog"), per_class=3, mode="RGB"):
  """train/<class>/<i>.png and test/<class>/<i>.png with pixel value = the
  class index * 50 + i (so labels can be read back from the pixels)."""
  for split in ("train", "test"):
    for c, name in enumerate(classes):
      folder = root / split / name
      folder.mkdir(parents=True)
      for i in range(per_class):
        size = (sizes or {}).get((split, name, i), (6, 5))  # (width, height)
        value = c * 50 + i
        shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
        Image.fromarray(np.full(shape, value, np.uint8), mode).save(folder / f"{i:04d}.png")
  return root


@pytest.mark.parametrize("packed", [False, True])
def test_image_folder_reads_directories_and_archives_with_labels_by_class(tmp_path, packed):
  root = _image_folder(tmp_path / "set")
  source = _tar(root, tmp_path / "set.tar.gz") if packed else str(root)
  out = load_image_folder(source, class_names=("dog", "cat"), cache_dir=str(tmp_path / "c"))
  train, test = out.splits["train"], out.splits["test"]
  assert train.images.shape == (6, 5, 6, 3) and train.images.dtype == np.uint8
  assert out.class_names == ("dog", "cat")
  # class "cat" wrote values 0..2, "dog" 50..52; with the given order dog = 0
  values = test.images[:, 0, 0, 0]
  assert np.array_equal(test.labels, np.where(values >= 50, 0, 1))
  # sorted folder names by default (ImageFolder's order)
  default = load_image_folder(source, cache_dir=str(tmp_path / "c"))
  assert default.class_names == ("cat", "dog")
  train = default.splits["train"]
  assert np.array_equal(train.labels, (train.images[:, 0, 0, 0] >= 50))


@pytest.mark.parametrize("packed", [False, True])
def test_a_slice_of_each_class_decodes_only_the_slice_and_equals_slicing_the_whole(
    tmp_path, monkeypatch, packed):
  root = _image_folder(tmp_path / "set", classes=("cat", "dog", "fox"), per_class=4)
  source = _tar(root, tmp_path / "set.tar.gz") if packed else str(root)
  whole = load_image_folder(source, cache_dir=str(tmp_path / "c"))
  from xmjax.data import image_folder
  decoded = []
  real_decode = image_folder._decode
  monkeypatch.setattr(image_folder, "_decode",
                      lambda where, *a: decoded.append(where) or real_decode(where, *a))
  part = load_image_folder(source, cache_dir=str(tmp_path / "c"), max_per_class=2)
  assert len(decoded) == 2 * 3 * 2   # 2 of each of 3 classes in both splits, nothing more
  for split, full in whole.splits.items():
    rows = np.sort(np.concatenate([np.flatnonzero(full.labels == c)[:2] for c in range(3)]))
    assert np.array_equal(part.splits[split].images, full.images[rows])
    assert np.array_equal(part.splits[split].labels, full.labels[rows])
  assert len(os.listdir(tmp_path / "c")) == 2   # the whole folder's cache is not replaced


def test_image_folder_is_decoded_once_then_read_from_the_cache(tmp_path, monkeypatch):
  root = _image_folder(tmp_path / "set")
  first = load_image_folder(str(root), cache_dir=str(tmp_path / "c"))
  assert len(os.listdir(tmp_path / "c")) == 1
  from xmjax.data import image_folder
  monkeypatch.setattr(image_folder, "_decode",
                      lambda *a: (_ for _ in ()).throw(AssertionError("decoded again")))
  second = load_image_folder(str(root), cache_dir=str(tmp_path / "c"))
  assert first.class_names == second.class_names
  for split, part in first.splits.items():
    assert np.array_equal(part.images, second.splits[split].images)
    assert np.array_equal(part.labels, second.splits[split].labels)
  # a changed file changes the fingerprint: decoded again
  os.utime(root / "train" / "cat" / "0000.png", ns=(1, 1))
  with pytest.raises(AssertionError, match="decoded again"):
    load_image_folder(str(root), cache_dir=str(tmp_path / "c"))


def test_image_folder_torn_cache_file_is_decoded_again(tmp_path):
  root = _image_folder(tmp_path / "set")
  load_image_folder(str(root), cache_dir=str(tmp_path / "c"))
  (cached,) = os.listdir(tmp_path / "c")
  (tmp_path / "c" / cached).write_bytes(b"torn")
  out = load_image_folder(str(root), cache_dir=str(tmp_path / "c"))
  assert out.splits["train"].images.shape == (6, 5, 6, 3)


def test_image_folder_mixed_sizes_need_image_size_and_grey_joins_rgb(tmp_path):
  root = _image_folder(tmp_path / "set", sizes={("train", "dog", 1): (8, 7)})
  with pytest.raises(InputError, match=r"train/dog/0001.png: image of 8x7.*image_size"):
    load_image_folder(str(root), cache_dir=str(tmp_path / "c"))
  out = load_image_folder(str(root), image_size=(4, 4), cache_dir=str(tmp_path / "c"))
  assert out.splits["train"].images.shape == (6, 4, 4, 3)
  grey = _image_folder(tmp_path / "grey", mode="L")
  grey_train = load_image_folder(str(grey), cache_dir=str(tmp_path / "c")).splits["train"]
  assert grey_train.images.shape[-1] == 1
  Image.fromarray(np.zeros((5, 6, 3), np.uint8)).save(grey / "train" / "cat" / "0009.png")
  mixed = load_image_folder(str(grey), cache_dir=str(tmp_path / "c"))
  assert mixed.splits["train"].images.shape == (7, 5, 6, 3)


def test_image_folder_errors_name_the_file(tmp_path):
  root = _image_folder(tmp_path / "set")
  (root / "train" / "dog" / "0001.png").write_bytes(b"not an image")
  with pytest.raises(InputError, match=r"set:train/dog/0001.png: not a readable image"):
    load_image_folder(str(root), cache_dir=str(tmp_path / "c"))
  root = _image_folder(tmp_path / "empty")
  (root / "train" / "bird").mkdir()
  (root / "train" / "bird" / "notes.txt").write_text("no images here")
  with pytest.raises(InputError, match=r"train/bird: a class folder with no image"):
    load_image_folder(str(root), cache_dir=str(tmp_path / "c"))
  root = _image_folder(tmp_path / "classes")
  with pytest.raises(InputError, match=r"expected \['cat', 'dog', 'fox'\]; missing \['fox'\]"):
    load_image_folder(str(root), class_names=("cat", "dog", "fox"), cache_dir=str(tmp_path / "c"))
  with pytest.raises(InputError, match="no such file"):
    load_image_folder(str(tmp_path / "nowhere"))
  (tmp_path / "bad.tar.gz").write_bytes(b"\x1f\x8b garbage")
  with pytest.raises(InputError, match="bad.tar.gz: not a readable tar archive"):
    load_image_folder(str(tmp_path / "bad.tar.gz"), cache_dir=str(tmp_path / "c"))


# ----------------------------------------------------------------------------
# ESC spectrograms.

_ESC_FOLDERS = {"101 - Dog": 0, "102 - Rooster": 1, "103 - Pig": 2, "201 - Rain": 10}


def _esc_folder(root, shape=(37, 50), clips_per_fold=1):
  """Every class folder above with clips_per_fold clips in each of folds 1..5;
  a clip's spectrogram is constant at target + fold / 10."""
  for folder, target in _ESC_FOLDERS.items():
    (root / "ESC-50-spec" / folder).mkdir(parents=True)
    for fold in range(1, 6):
      for clip in range(clips_per_fold):
        value = np.float32(target + fold / 10)
        Image.fromarray(np.full(shape, value, np.float32), "F").save(
            root / "ESC-50-spec" / folder / f"{fold}-{1000 + clip}-A_{clip % 3}.tif")
  return root


def test_esc_folder_codes_give_esc50_targets():
  assert target_of_folder("x", "101 - Dog") == 0
  assert target_of_folder("x", "510 - Hand saw") == 49
  assert target_of_folder("x", "408 - Clock alarm") == 37
  with pytest.raises(InputError, match="'Dog' is not named 'NNN - Class'"):
    target_of_folder("x", "Dog")
  with pytest.raises(InputError, match="611 - Sound"):
    target_of_folder("x", "611 - Sound")


@pytest.mark.parametrize("packed", [False, True])
def test_esc_spectrograms_folds_labels_and_the_esc10_subset(tmp_path, packed):
  root = _esc_folder(tmp_path / "esc")
  source = _tar(root, tmp_path / "esc.tar.gz") if packed else str(root)
  with pytest.raises(InputError, match="no clips of"):  # this folder lacks most of ESC-50
    load_esc_spectrograms(source, "esc50", cache_dir=str(tmp_path / "c"))
  from xmjax.data import esc_spectrograms
  arrays = esc_spectrograms._decode(source)
  assert arrays["spectrograms"].shape == (20, 37, 50)
  np.testing.assert_allclose(arrays["spectrograms"][:, 0, 0],
                             arrays["targets"] + arrays["folds"] / 10, rtol=1e-6)
  assert sorted(set(arrays["targets"].tolist())) == [0, 1, 2, 10]
  assert np.bincount(arrays["folds"]).tolist() == [0, 4, 4, 4, 4, 4]


def test_esc10_keeps_its_classes_in_esc50_order(tmp_path, monkeypatch):
  from xmjax.data.class_names import ESC10, ESC50
  targets = np.array([ESC50.index(n) for n in ESC10] * 5 + [2, 3], np.int32)  # + pig, cow
  folds = np.array(sorted(list(range(1, 6)) * 10) + [1, 1], np.int32)
  fake = {"spectrograms": np.zeros((52, 2, 2), np.float32), "targets": targets, "folds": folds}
  monkeypatch.setattr(archive, "cached_arrays", lambda *a, **k: fake)
  out = load_esc_spectrograms("anything", "esc10")
  assert len(out) == len(out.folds) == len(out.spectrograms) == 50  # pig, cow are not ESC-10
  assert out.labels[:10].tolist() == list(range(10))


def test_esc_spectrogram_errors_name_the_file(tmp_path):
  root = _esc_folder(tmp_path / "shape")
  Image.fromarray(np.zeros((37, 49), np.float32), "F").save(
      root / "ESC-50-spec" / "101 - Dog" / "5-9-A_0.tif")
  with pytest.raises(InputError, match=r"101 - Dog/5-9-A_0.tif: spectrogram of shape \(37, 49\)"):
    load_esc_spectrograms(str(root), cache_dir=str(tmp_path / "c"))
  root = _esc_folder(tmp_path / "nofold")
  Image.fromarray(np.zeros((37, 50), np.float32), "F").save(
      root / "ESC-50-spec" / "101 - Dog" / "clip-9-A.tif")
  with pytest.raises(InputError, match=r"clip-9-A.tif: file name without a fold"):
    load_esc_spectrograms(str(root), cache_dir=str(tmp_path / "c"))
  root = _esc_folder(tmp_path / "empty")
  (root / "ESC-50-spec" / "104 - Cow").mkdir()
  (root / "ESC-50-spec" / "104 - Cow" / "readme.txt").write_text("-")
  with pytest.raises(InputError, match=r"104 - Cow: a class folder with no .tif"):
    load_esc_spectrograms(str(root), cache_dir=str(tmp_path / "c"))
  root = _esc_folder(tmp_path / "rgb")
  Image.fromarray(np.zeros((37, 50, 3), np.uint8)).save(
      root / "ESC-50-spec" / "101 - Dog" / "2-9-A_0.tif")
  with pytest.raises(InputError, match=r"2-9-A_0.tif: expected a single-channel spectrogram"):
    load_esc_spectrograms(str(root), cache_dir=str(tmp_path / "c"))


# ----------------------------------------------------------------------------
# Rating releases.


def _librec(tmp_path, lines):
  (tmp_path / "ratings.txt").write_text("\n".join(lines) + "\n")
  (tmp_path / "trust.txt").write_text("1 2 1\n2 3 1\n")
  return str(tmp_path)


def test_off_grid_ratings_stop_the_run_unless_drop_invalid(tmp_path, caplog):
  directory = _librec(tmp_path, ["1 1 3", "1 2 0", "2 1 2.5", "2 1 1.5", "3 2 4"])
  with pytest.raises(InputError, match=r"ratings.txt: rating 0 at row 2 is off the grid.*"
                                       r"drop_invalid=True"):
    load_librec(directory)
  with caplog.at_level("WARNING", logger="xmjax"):
    data = load_librec(directory, drop_invalid=True)
  assert "dropped 1 rows with ratings off the grid" in caplog.text
  assert "1 duplicate (user, item) ratings; the last of each is kept" in caplog.text
  pairs = {(int(u), int(i)): float(r) for u, i, r in zip(data.users, data.items, data.ratings)}
  assert len(data.ratings) == 3 and pairs[(1, 0)] == 1.5  # the later of the repeated pair


def test_sampled_unrated_pairs_avoid_every_rating_and_are_seeded():
  from types import SimpleNamespace
  from xmjax.graph.ratings import sampled_unrated_pairs
  rng = np.random.default_rng(0)
  users = rng.integers(0, 30, 400).astype(np.int32)
  items = rng.integers(0, 40, 400).astype(np.int32)
  users = np.concatenate([users, np.zeros(40, np.int32)])  # user 0 rated every item
  items = np.concatenate([items, np.arange(40, dtype=np.int32)])
  data = SimpleNamespace(users=users, items=items, num_users=31, num_items=40)
  su, si = sampled_unrated_pairs(data, 8, seed=3)
  rated = set(zip(users.tolist(), items.tolist()))
  assert not rated & set(zip(su.tolist(), si.tolist()))
  assert len(set(zip(su.tolist(), si.tolist()))) == len(su)  # no pair twice
  counts = np.bincount(su, minlength=31)
  assert counts[0] == 0 and counts[30] == 8  # user 30 rated nothing
  assert all(c == min(8, 40 - len({i for u, i in rated if u == user}))
             for user, c in enumerate(counts))
  again = sampled_unrated_pairs(data, 8, seed=3)
  assert np.array_equal(again[0], su) and np.array_equal(again[1], si)
  other = sampled_unrated_pairs(data, 8, seed=4)
  assert not np.array_equal(other[1], si)


def test_ciao_release_with_zero_ratings_and_repeats(tmp_path, caplog):
  import scipy.io
  from xmjax.data.ratings import load_ciao
  rating = np.array([[1, 1, 7, 4, 0], [1, 2, 7, 0, 0], [2, 1, 7, 5, 1], [2, 1, 7, 3, 1],
                     [3, 200000, 7, 2, 0]], np.float64)  # user, product, category, rating, helpful
  scipy.io.savemat(tmp_path / "rating.mat", {"rating": rating})
  scipy.io.savemat(tmp_path / "trustnetwork.mat", {"trustnetwork": np.array([[1, 2], [2, 3]],
                                                                            np.float64)})
  with pytest.raises(InputError, match=r"rating.mat: rating 0 at row 2 is off the grid"):
    load_ciao(str(tmp_path))
  with caplog.at_level("INFO", logger="xmjax"):
    data = load_ciao(str(tmp_path), drop_invalid=True)
  assert len(data.ratings) == 2 and sorted(data.ratings.tolist()) == [3.0, 4.0]  # 2-1 keeps its last
  assert "dropped 1 rows with ratings off the grid" in caplog.text
