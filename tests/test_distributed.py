"""Parallel and distributed runs give the single-device results: data
parallelism over 8 (forced CPU) devices for every minibatch model and
edge-sharded RR-Net, and two processes joined by jax.distributed."""

import json
import os
import subprocess
import sys

from conftest import ROOT, load_config, set_fields
from xmjax.train import train_and_evaluate
from xmjax.train.loop import FAULT_ENV


def test_data_parallel_runs_on_8_devices_equal_single_device(tmp_path):
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8")
  env.pop(FAULT_ENV, None)
  # Two subprocesses side by side: the runs are short and mostly compiling,
  # which is single-threaded, so both cores work.
  # DRSL's batches are sharded by the same shard_rows as SDML's (and DRSL
  # runs over two processes in the next test), so it is left out here.
  groups = (["cifar_resnet_batchnorm"], ["racg", "sdml"])
  procs = [subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "multidevice_check.py"),
                             str(tmp_path / str(i)), *names], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
           for i, names in enumerate(groups)]
  max_differences = {}
  for proc in procs:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    max_differences.update(json.loads(out.strip().splitlines()[-1]))
  assert set(max_differences) == {"cifar_resnet_batchnorm", "racg", "sdml"}
  for name, difference in max_differences.items():
    assert difference < 1e-3, (name, difference)   # float32 round-off through training


def test_two_process_run_on_localhost_equals_one_process(tmp_path):
  """jax.distributed over two CPU processes (one device each, gloo
  collectives): the same results as one process, one results file, one
  checkpoint directory written through orbax from both processes."""
  import socket
  with socket.socket() as s:
    s.bind(("localhost", 0))
    port = s.getsockname()[1]
  env = dict(os.environ)
  env.pop(FAULT_ENV, None)
  env.pop("XLA_FLAGS", None)
  overrides = ["--config.train.num_epochs=1", "--config.train.batch_size=96"]
  procs = [subprocess.Popen(
      [sys.executable, os.path.join(ROOT, "launch", "train.py"), "--config=configs/drsl_mfeat.py",
       f"--workdir={tmp_path / 'two'}", *overrides, f"--coordinator_address=localhost:{port}",
       "--num_processes=2", f"--process_id={i}"],
      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
      for i in range(2)]
  outputs = [p.communicate(timeout=600) for p in procs]
  for p, (_, err) in zip(procs, outputs):
    assert p.returncode == 0, err[-3000:]
  single = train_and_evaluate(set_fields(load_config("drsl_mfeat"), **{
      "train.num_epochs": 1, "train.batch_size": 96}), str(tmp_path / "one"))
  with open(tmp_path / "two" / "results.json") as f:
    two = json.load(f)
  for key, value in single.items():
    if isinstance(value, float):
      assert abs(two[key] - value) < 1e-3, (key, two[key], value)
  assert os.listdir(tmp_path / "two" / "drsl" / "checkpoints") == ["14"]
