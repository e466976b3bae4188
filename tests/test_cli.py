"""The `xmjax` command's error contract, table-driven: every input error of
every command exits with status 2 and a last line `error: ...` naming what
to fix, before any work; help and config listing exit 0."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT


def xmjax(*args, cwd=ROOT):
  return subprocess.run([sys.executable, "-m", "xmjax", *args], capture_output=True, text=True,
                        cwd=cwd, timeout=300)


CASES = [
    # (arguments, the last line of stderr must contain this)
    (("train", "--config=configs/nope.py", "--workdir={w}"),
     "error: --config: configs/nope.py: no such config file, nor a shipped config name"),
    (("train", "--config=configs_elsewhere/rrnet_digits.py", "--workdir={w}"),
     "no such file; the shipped config of that name is --config=rrnet_digits"),
    (("train", "--config=rrnet_digit", "--workdir={w}"),
     "error: --config: rrnet_digit: no such config file, nor a shipped config name "
     "(did you mean rrnet_digits"),
    (("train", "--config={broken}", "--workdir={w}"), "cannot be loaded: SyntaxError"),
    (("train", "--workdir={w}"), "error: command line: flag --config=None"),
    (("train", "--config=rrnet_digits"), "error: command line: flag --workdir=None"),
    (("train", "--config=rrnet_digits", "--workdir={w}", "--config.rrnet.num_step=3"),
     "error: config.rrnet.num_step: unknown config field (from --config.rrnet.num_step=3) "
     "(did you mean config.rrnet.num_steps?)"),
    (("train", "--config=rrnet_digits", "--workdir={w}", "--config.rrnet.num_steps=-1"),
     "error: config.rrnet.num_steps"),
    (("train", "--config=rrnet_digits", "--workdir={w}", "--no_such_flag=1"),
     "error: command line: Unknown command line flag 'no_such_flag'"),
    (("train", "--config=rrnet_filmtrust", "--workdir={w}"),
     "error: config.data.dir: set it to the directory holding the filmtrust files "
     "(ratings.txt, trust.txt); FilmTrust"),
    (("eval",), "error: command line: flag --workdir=None"),
    (("eval", "--workdir={w}"), "config.json: not found"),
    (("sweep", "--config=rrnet_digits"), "error: command line: flag --workdir=None"),
    (("sweep", "--config=rrnet_digits", "--workdir={w}", "--sweep_field=rrnet.num_step",
      "--sweep_values=1;2"), "error: config.rrnet.num_step: unknown config field (from "
     "--sweep_field) (did you mean config.rrnet.num_steps?)"),
    (("frobnicate",), "error: command line: unknown command 'frobnicate'"),
]


@pytest.mark.parametrize("args,expected", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_input_errors_exit_2_with_a_last_line_naming_the_fault(tmp_path, args, expected):
  broken = tmp_path / "broken.py"
  broken.write_text("def get_config(:\n")
  workdir = tmp_path / "run"
  result = xmjax(*(a.format(w=workdir, broken=broken) for a in args))
  last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
  assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
  assert expected in last, last
  assert not workdir.exists()                   # nothing written before the error


def test_help_and_configs_list_the_shipped_configs_and_exit_0():
  listing = xmjax("configs")
  assert listing.returncode == 0
  names = [line.split()[0] for line in listing.stdout.splitlines()]
  assert names == sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "configs"))
                         if n.endswith(".py"))
  assert "rrnet_digits " in listing.stdout and "Expected" not in listing.stdout
  train_help = xmjax("train", "--help")
  assert train_help.returncode == 0, train_help.stderr
  assert "--workdir" in train_help.stdout and "rrnet_digits" in train_help.stdout
  usage = xmjax("--help")
  assert usage.returncode == 0 and "xmjax train" in usage.stdout
  assert xmjax().returncode == 2


def test_a_shipped_config_by_name_from_outside_the_repository(tmp_path):
  """--config=NAME finds the shipped file wherever the command runs (here
  a folder without configs/); its error names the shipped config's field."""
  result = xmjax("train", "--config=rrnet_digits", f"--workdir={tmp_path / 'run'}",
                 "--config.rrnet.k=3", cwd=tmp_path)
  assert result.returncode == 2
  assert "config.rrnet.k: unknown config field" in result.stderr.strip().splitlines()[-1]


def test_the_built_wheel_runs_a_shipped_config_outside_the_repository(tmp_path, rrnet_short_run):
  """Build the wheel, install it (no dependencies: those of this
  environment serve) into a fresh venv, and run `xmjax train
  --config=rrnet_digits` from a folder that is not the repository: the
  wheel carries the configs and the shipped data, and gives the numbers the
  source tree gives for the same config (the shared shortened quick start)."""
  import json
  import site
  import sysconfig
  wheels = tmp_path / "wheels"
  built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", ROOT,
                          "-w", str(wheels)], capture_output=True, text=True, timeout=600)
  assert built.returncode == 0, built.stderr[-3000:]
  wheel = next(wheels.glob("xmjax-*.whl"))
  venv = tmp_path / "venv"
  subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
  python = venv / "bin" / "python"
  installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                              "-q", "--no-deps", str(wheel)], capture_output=True, text=True,
                             timeout=600)
  assert installed.returncode == 0, installed.stderr[-3000:]
  # This environment's dependencies, but not its editable xmjax (a .pth
  # file, which PYTHONPATH entries never run).
  deps = os.pathsep.join([sysconfig.get_paths()["purelib"], *site.getsitepackages()])
  env = {**os.environ, "PYTHONPATH": deps}
  outside = tmp_path / "elsewhere"
  outside.mkdir()
  where = subprocess.run([str(python), "-c", "import xmjax, os; print(xmjax.__file__)"],
                         capture_output=True, text=True, cwd=outside, env=env)
  assert str(venv) in where.stdout, (where.stdout, where.stderr)
  c = rrnet_short_run["config"]
  workdir = outside / "run"
  run = subprocess.run(
      [str(venv / "bin" / "xmjax"), "train", "--config=rrnet_digits", f"--workdir={workdir}",
       f"--config.baseline.num_epochs={c.baseline.num_epochs}",
       f"--config.baseline.checkpoint_every={c.baseline.checkpoint_every}",
       f"--config.rrnet.num_steps={c.rrnet.num_steps}",
       f"--config.rrnet.checkpoint_every={c.rrnet.checkpoint_every}",
       "--config.rrnet.ablations=", f"--config.log_every={c.log_every}"],
      capture_output=True, text=True, cwd=outside, env=env, timeout=900)
  assert run.returncode == 0, run.stderr[-3000:]
  results = json.loads((workdir / "results.json").read_text())
  for key in ("baseline/test_accuracy", "rrnet/test_accuracy"):
    assert results[key] == rrnet_short_run["results"][key], key
