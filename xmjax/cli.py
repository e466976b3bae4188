"""The `xmjax` command (also `python -m xmjax`):

    xmjax train   --config=rrnet_digits --workdir=DIR [--config.FIELD=VALUE ...]
    xmjax eval    --workdir=DIR [--step=N] [--ensemble_with=DIR,...]
    xmjax sweep   --config=rrnet_digits --workdir=DIR (--seeds=0,1,2 | --sweep_field=F --sweep_values="a;b")
    xmjax configs                 the shipped configs, one line each

`xmjax COMMAND --help` says more. --config is a shipped config's name or
the path of any config file. Input errors exit with status 2 and a last
line `error: ...`.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {"train": "xmjax.commands.train", "eval": "xmjax.commands.eval",
            "sweep": "xmjax.commands.sweep"}


def list_configs() -> None:
  from xmjax.commands.common import shipped_configs
  configs = shipped_configs()
  width = max(map(len, configs))
  for name, line in configs.items():
    print(f"{name:<{width}}  {line}")


def main(argv: list[str] | None = None) -> None:
  argv = list(sys.argv if argv is None else argv)
  command = argv[1] if len(argv) > 1 else ""
  if command in ("", "-h", "--help", "help"):
    print(__doc__.strip())
    sys.exit(0 if command else 2)
  if command == "configs":
    list_configs()
    return
  if command not in COMMANDS:
    from xmjax.commands.common import fail
    fail(f"command line: unknown command {command!r}; choose one of "
         f"{sorted([*COMMANDS, 'configs'])} (xmjax --help)")
  # Each command defines its absl flags on import: import only the one run.
  importlib.import_module(COMMANDS[command]).run([f"xmjax {command}", *argv[2:]])


if __name__ == "__main__":
  main()
