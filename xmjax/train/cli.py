"""Small helpers shared by the launch/ scripts (no absl here)."""

from __future__ import annotations

import sys
from typing import Any, Mapping


def fail(message: str) -> None:
  """Input errors: exit status 2, last line `error: <file or field>: <problem>`."""
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def print_results(results: Mapping[str, Any]) -> None:
  width = max(len(k) for k in results)
  for key, value in sorted(results.items()):
    shown = f"{value:.4f}" if isinstance(value, float) else value
    print(f"{key:<{width}}  {shown}")


def quiet_libraries() -> None:
  """Our progress lines at INFO; the libraries' (orbax logs every save) at WARNING."""
  import logging

  from absl import logging as absl_logging
  absl_logging.set_verbosity(absl_logging.WARNING)
  logging.getLogger("xmjax").setLevel(logging.INFO)
