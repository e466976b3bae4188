import os
import runpy
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_config(name: str):
  """configs/<name>.py's get_config(), as launch/train.py would load it."""
  return runpy.run_path(os.path.join(ROOT, "configs", f"{name}.py"))["get_config"]()


def short_digits_config(**overrides):
  """The quick-start config shortened for CPU tests (same code path)."""
  config = load_config("rrnet_digits")
  config.baseline.num_epochs = 4
  config.baseline.checkpoint_every = 20
  config.rrnet.num_steps = 100
  config.rrnet.checkpoint_every = 20
  config.log_every = 10
  for key, value in overrides.items():
    node = config
    *path, last = key.split(".")
    for part in path:
      node = node[part]
    node[last] = value
  return config


@pytest.fixture
def root():
  return ROOT
