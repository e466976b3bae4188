"""Parallel and distributed runs give the single-device results: data
parallelism over 8 (forced CPU) devices for every minibatch model and
edge-sharded RR-Net, and two processes joined by jax.distributed."""

import json
import os
import subprocess
import sys

from conftest import ROOT, load_config, set_fields, subprocess_env
from xmjax.train import train_and_evaluate


def test_data_parallel_runs_on_8_devices_equal_single_device(tmp_path):
  env = subprocess_env(host_devices=8)
  # Two subprocesses side by side: the runs are short and mostly compiling,
  # which is single-threaded, so both cores work.
  # DRSL's batches are split by the same runner placement as VSE's, and its
  # data-parallel step is checked against one device in
  # test_pair_blocks_split_their_rows_over_8_devices..., so it is left out here.
  # SDML's per-modality batches are split by the same runner placement as
  # VSE's rows (SDML's own sharded run is in multidevice_check.py, by name).
  groups = (["cifar_batchnorm", "ratings_edge_batches"], ["racg", "vse"])
  procs = [subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "multidevice_check.py"),
                             str(tmp_path / str(i)), *names], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
           for i, names in enumerate(groups)]
  max_differences, devices, errors = {}, {}, {}
  for proc in procs:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    max_differences.update(report["max_difference"])
    devices.update(report["devices"])
    errors.update(report["errors"])
  assert set(max_differences) == {"cifar_batchnorm", "racg", "vse", "ratings_edge_batches"}
  for name, difference in max_differences.items():
    assert difference < 1e-3, (name, difference)   # float32 round-off through training
  # Every stage ran where it should: the minibatch stages over all 8 devices
  # with no placement code in their task (VSE, the ratings' edge batches),
  # RR-Net's full-graph stage over 8 when edge-sharded.
  assert devices["vse_8"] == {"vse": 8}, devices
  assert devices["ratings_edge_batches_8"] == {"split0": 8}, devices
  assert set(devices["racg_8"].values()) == {8}, devices
  assert devices["cifar_batchnorm_8"] == {"baseline": 8, "rrnet": 8}, devices
  assert all(set(seen.values()) == {1} for name, seen in devices.items() if name.endswith("_1"))
  assert "stage vse" in errors["vse_batch_100"], errors
  assert "does not split over the 8 devices of config.mesh.data" in errors["vse_batch_100"]


def test_two_process_run_on_localhost_equals_one_process(tmp_path):
  """jax.distributed over two CPU processes (one device each, gloo
  collectives): the same results as one process, one results file, one
  checkpoint directory written through orbax from both processes. VSE, the
  plainest task: what is under test is the runner's multi-process path,
  which every task shares (DRSL here took 44 s against 16)."""
  import socket
  with socket.socket() as s:
    s.bind(("localhost", 0))
    port = s.getsockname()[1]
  env = subprocess_env()
  overrides = ["--config.train.num_epochs=1", "--config.train.batch_size=96"]
  procs = [subprocess.Popen(
      [sys.executable, os.path.join(ROOT, "launch", "train.py"), "--config=configs/vse_mfeat.py",
       f"--workdir={tmp_path / 'two'}", *overrides, f"--coordinator_address=localhost:{port}",
       "--num_processes=2", f"--process_id={i}"],
      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
      for i in range(2)]
  outputs = [p.communicate(timeout=600) for p in procs]
  for p, (_, err) in zip(procs, outputs):
    assert p.returncode == 0, err[-3000:]
  single = train_and_evaluate(set_fields(load_config("vse_mfeat"), **{
      "train.num_epochs": 1, "train.batch_size": 96}), str(tmp_path / "one"))
  with open(tmp_path / "two" / "results.json") as f:
    two = json.load(f)
  for key, value in single.items():
    if isinstance(value, float):
      assert abs(two[key] - value) < 1e-3, (key, two[key], value)
  assert os.listdir(tmp_path / "two" / "vse" / "checkpoints") == ["14"]


def test_pair_blocks_split_their_rows_over_8_devices_under_explicit_and_auto_axes():
  """RelationNetwork, DRSL's scorer and knn_graph on a mesh of 8 (forced CPU)
  devices, under Explicit axes (what jax.make_mesh gives by default; the
  row axis found from the operand's type) and Auto axes (row_axis given):
  the single-device numbers, and each device's compiled loops cover 1/8 of
  the tiles. The DRSL data-parallel step likewise."""
  import math
  env = subprocess_env(host_devices=8)
  proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "sharding_check.py")],
                        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  report = json.loads(proc.stdout.strip().splitlines()[-1])
  for block in ("relation", "drsl", "knn"):
    single_tiles = math.prod(report[f"{block}/single_trips"])
    for kind in ("Explicit", "Auto"):
      assert report[f"{block}/{kind}/forward"] < 1e-5, (block, kind)
      if block != "knn":   # gradients summed over devices: float32 round-off of sums of ~1e3
        assert report[f"{block}/{kind}/grad"] < 1e-3, (block, kind)
      assert 8 * math.prod(report[f"{block}/{kind}/trips"]) == single_tiles, (block, kind, report)
  # The step's 64-row batch is 8 row tiles of 8 on one device (forward and
  # backward loops) and one tile per device on 8 (those loops vanish); its
  # 200 validation rows are 25 row tiles on one device, 4 per device on 8.
  one, eight = report["drsl_step/1/trips"], report["drsl_step/8/trips"]
  assert one.count(8) - eight.count(8) >= 2, (one, eight)
  assert one.count(25) - eight.count(25) == 1 and 4 in eight and 4 not in one, (one, eight)
  assert abs(report["drsl_step/1/loss"] - report["drsl_step/8/loss"]) < 1e-3 * report[
      "drsl_step/1/loss"]
