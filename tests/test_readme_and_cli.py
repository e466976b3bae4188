"""The README's commands and snippet, and the command line, as a user meets them."""

import os
import re
import subprocess
import sys

from conftest import ROOT, run_python, subprocess_env


def readme():
  with open(os.path.join(ROOT, "README.md")) as f:
    return f.read()


def bash_blocks(text):
  return re.findall(r"```bash\n(.*?)```", text, re.S)


def test_readme_is_a_front_page_whose_links_resolve():
  text = readme()
  assert len(text.splitlines()) <= 250
  links = re.findall(r"\]\((docs/[^)#]+)\)", text)
  assert {"docs/rrnet.md", "docs/retrieval.md", "docs/racg.md", "docs/reuse.md",
          "docs/adding_a_model.md", "docs/runs.md"} <= set(links)
  for link in links:
    assert os.path.exists(os.path.join(ROOT, link)), link


def test_ci_runs_exactly_the_readme_test_command():
  commands = [b.strip() for b in bash_blocks(readme())]
  test_command = next(c for c in commands if "pytest" in c)
  with open(os.path.join(ROOT, ".ci", "run")) as f:
    ci_lines = [line.strip() for line in f]
  assert test_command in ci_lines


def test_readme_quick_start_command_names_the_digits_config():
  main = bash_blocks(readme())[0]
  assert "launch/train.py --config=configs/rrnet_digits.py --workdir=" in main
  assert "pip install -e ." in main


def test_readme_python_snippets_run_as_written():
  """docs/reuse.md's snippets (layers on a jraph graph, the whole RR-Net
  trained by one's own step, sparse node attributes, a sharded pair block,
  the pair scorer's CPU reduction, the dtype convention) print what the
  page says they print."""
  with open(os.path.join(ROOT, "docs", "reuse.md")) as f:
    snippets = re.findall(r"```python\n(.*?)```", f.read(), re.S)
  four_devices = subprocess_env(host_devices=4)
  expected = [("(100, 16) (500, 16)",), ("loss 0.24, accuracy 0.59", 0.01),
              ("(3, 16) True",), ("(256, 100) P('data', None)", 0.0, four_devices),
              ("chunked (1000, 800) True",), ("bfloat16 float32",)]
  assert len(snippets) == len(expected)
  for snippet, (output, tolerance, env) in zip(
      snippets, [e + (0.0, None)[len(e) - 1:] for e in expected]):
    result = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                            cwd=ROOT, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert same_output(result.stdout.strip().splitlines()[-1], output, tolerance), result.stdout


def same_output(got: str, expected: str, tolerance: float = 0.0) -> bool:
  """`got` reads as `expected`, decimals within `tolerance` (a training run's
  last digits depend on the CPU XLA compiles for)."""
  number = r"-?\d+\.\d+"
  if re.sub(number, "#", got) != re.sub(number, "#", expected):
    return False
  return all(abs(float(a) - float(b)) <= tolerance + 1e-9
             for a, b in zip(re.findall(number, got), re.findall(number, expected)))


def run_cli(*args):
  return subprocess.run([sys.executable, os.path.join(ROOT, "launch", "train.py"), *args],
                        capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_cli_unknown_field_exits_2_naming_it(tmp_path):
  result = run_cli("--config=configs/rrnet_digits.py", f"--workdir={tmp_path / 'run'}",
                   "--config.rrnet.k=3")
  assert result.returncode == 2
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("error: config.rrnet.k: unknown config field"), last
  assert not (tmp_path / "run").exists()
  misspelt = run_cli("--config=configs/rrnet_digits.py", f"--workdir={tmp_path / 'run'}",
                     "--config.rrnet.num_step=3")
  assert misspelt.returncode == 2
  assert ("config.rrnet.num_step: unknown config field (from --config.rrnet.num_step=3) "
          "(did you mean config.rrnet.num_steps?)") in misspelt.stderr.strip().splitlines()[-1]


def test_cli_bad_value_exits_2_naming_it(tmp_path):
  result = run_cli("--config=configs/rrnet_digits.py", f"--workdir={tmp_path / 'run'}",
                   "--config.rrnet.k2=10")
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1].startswith("error: config.rrnet.k2:")


def test_every_test_named_in_the_bad_input_table_exists():
  with open(os.path.join(ROOT, "docs", "runs.md")) as f:
    section = f.read().split("## Bad input: what you see")[1].split("\n## ")[0]
  rows = [line for line in section.splitlines() if line.startswith("| ") and "test_" in line]
  assert len(rows) >= 15
  for row in rows:
    cell = row.rstrip(" |").rsplit("|", 1)[1]
    current_file = None
    for ref in re.findall(r"`([^`]+)`", cell):
      file, _, name = ref.rpartition("::")
      current_file = file or current_file
      with open(os.path.join(ROOT, "tests", current_file)) as f:
        assert f"def {name}(" in f.read(), ref


def test_layers_import_without_orbax_tfds_or_parsed_flags():
  code = ("import sys, xmjax.nn, xmjax.graph, xmjax.models\n"
          "assert 'orbax.checkpoint' not in sys.modules and 'tensorflow_datasets' not in sys.modules\n"
          "from absl import flags\n"
          "assert not flags.FLAGS.is_parsed()\n"
          "print('ok')")
  result = run_python(code)
  assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
