"""What every command shares: the error contract (input errors exit 2 with
a last line `error: ...`), config files addressed by path or by shipped
name, and flag parsing that keeps to that contract."""

from __future__ import annotations

import os
import runpy
import sys
from typing import Callable, Sequence

from xmjax.configs.fields import field_problem

__all__ = ["fail", "parse_flags", "print_results", "quiet_libraries", "resolve_config_args",
           "shipped_configs", "shipped_configs_dir"]


def fail(message: str) -> None:
  """Input errors: exit status 2, last line `error: <file or field>: <problem>`."""
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def print_results(results, headline: Sequence[str] = ()) -> None:
  """The results matching the task's `headline` patterns first, then every
  key of results.json."""
  import fnmatch
  width = max(len(k) for k in results)

  def show(items):
    for key, value in items:
      shown = f"{value:.4f}" if isinstance(value, float) else value
      print(f"{key:<{width}}  {shown}")

  first = [(k, v) for k, v in sorted(results.items())
           if any(fnmatch.fnmatch(k, p) for p in headline)]
  if first:
    print("Headline:")
    show(first)
    print("\nresults.json:")
  show(sorted(results.items()))


def quiet_libraries() -> None:
  """Our progress lines at INFO; the libraries' (orbax logs every save) at WARNING."""
  import logging

  from absl import logging as absl_logging
  absl_logging.set_verbosity(absl_logging.WARNING)
  logging.getLogger("xmjax").setLevel(logging.INFO)


def shipped_configs_dir() -> str:
  """The shipped configs: `xmjax/shipped_configs/` in an installed wheel
  (setup.py maps the repository's configs/ there), else the configs/ folder
  beside the package (a source checkout, an editable install)."""
  import xmjax
  package = os.path.dirname(os.path.abspath(xmjax.__file__))
  for folder in (os.path.join(package, "shipped_configs"),
                 os.path.join(os.path.dirname(package), "configs")):
    if os.path.isfile(os.path.join(folder, "rrnet_digits.py")):
      return folder
  fail(f"--config: no shipped configs beside {package} (neither shipped_configs/ nor "
       f"../configs/); give the config file's path")


def shipped_configs() -> dict[str, str]:
  """Shipped config name -> the first line of its docstring (no config is run)."""
  import ast
  out = {}
  folder = shipped_configs_dir()
  for name in sorted(os.listdir(folder)):
    if name.endswith(".py") and not name.startswith("_"):
      with open(os.path.join(folder, name)) as f:
        doc = ast.get_docstring(ast.parse(f.read())) or ""
      out[name[:-3]] = doc.strip().splitlines()[0] if doc.strip() else ""
  return out


def _config_value(argv: Sequence[str]) -> tuple[int, str] | None:
  """(index, value) of the --config argument (`--config=X` or `--config X`)."""
  for i, arg in enumerate(argv):
    if arg.startswith("--config="):
      return i, arg.split("=", 1)[1]
    if arg == "--config" and i + 1 < len(argv):
      return i + 1, argv[i + 1]
  return None


def resolve_config_args(argv: list[str]) -> list[str]:
  """argv with `--config=NAME` (a shipped config, e.g. rrnet_digits) made
  the path of that file; a path stays. A value that is neither an existing
  file nor a shipped name fails, naming both."""
  found = _config_value(argv)
  if found is None:
    return argv
  index, value = found
  path = value.split(":", 1)[0]
  if os.path.isfile(path):
    if not os.access(path, os.R_OK):
      fail(f"--config: {path}: not readable")
    return argv
  names = shipped_configs()
  name = os.path.basename(path)[:-3] if path.endswith(".py") else path
  is_path = os.sep in path or path.endswith(".py")
  if is_path and name in names:
    fail(f"--config: {value}: no such file; the shipped config of that name is "
         f"--config={name}")
  if is_path or name not in names:
    import difflib
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    fail(f"--config: {value}: no such config file, nor a shipped config name{hint}; "
         f"`xmjax configs` lists the {len(names)} shipped ones")
  argv = list(argv)
  resolved = os.path.join(shipped_configs_dir(), f"{name}.py")
  argv[index] = f"--config={resolved}" if argv[index].startswith("--config=") else resolved
  return argv


def _explain_override_error(argv, error: Exception) -> str:
  """Names the --config.X override that does not exist in the config file."""
  found = _config_value(argv)
  if found and os.path.isfile(found[1]):
    config = runpy.run_path(found[1])["get_config"]()
    for arg in argv:
      if arg.startswith("--config."):
        problem = field_problem(config, arg[len("--config."):].split("=", 1)[0], source=arg)
        if problem:
          return problem
  return f"command line: {type(error).__name__}: {error}"


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing under the error contract: a bad or missing flag,
  a config file that fails to load, or an unknown --config.X exits 2 with
  `error: ...`."""
  from absl import flags
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(f"command line: {e}")
  except (AttributeError, KeyError, TypeError, ValueError) as e:
    fail(_explain_override_error(argv, e))
  except (OSError, SyntaxError, ImportError) as e:   # the config file itself
    found = _config_value(argv)
    fail(f"--config: {found[1] if found else '?'}: cannot be loaded: {type(e).__name__}: {e}")


def print_help(doc: str, module: str, lists_configs: bool) -> None:
  """The command's docstring, its flags, and (for commands taking --config)
  the shipped configs."""
  from absl import flags
  print(doc.strip() + "\n")
  print(flags.FLAGS.module_help(module))
  if lists_configs:
    configs = shipped_configs()
    width = max(map(len, configs))
    print("\nShipped configs (--config=NAME, or a path to any config file):")
    for name, line in configs.items():
      print(f"  {name:<{width}}  {line}")


def run_command(main: Callable, argv: list[str], module: str, takes_config: bool = True
                ) -> None:
  """absl's app.run with --help answered here (docstring, flags, shipped
  configs), the config argument resolved and flags parsed under the error
  contract."""
  from absl import app
  if any(a in ("-h", "--help", "-help", "--helpshort", "--helpfull") for a in argv[1:]):
    print_help(sys.modules[module].__doc__ or "", module, takes_config)
    sys.exit(0)
  app.run(main, argv=resolve_config_args(list(argv)) if takes_config else list(argv),
          flags_parser=parse_flags)
