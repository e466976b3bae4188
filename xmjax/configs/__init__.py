"""Configs as data: the experiment schemas (`xmjax.configs.schemas`) and the
helper config files use to vary one another. Imports no JAX."""

from __future__ import annotations

import importlib.util
import os
from types import ModuleType

from xmjax.configs import schemas

__all__ = ["schemas", "sibling_config"]


def sibling_config(config_file: str, name: str) -> ModuleType:
  """The config module `name`.py from the same directory as `config_file`
  (config files are loaded by path, not as a package, so one config that
  varies another imports it this way)."""
  path = os.path.join(os.path.dirname(os.path.abspath(config_file)), f"{name}.py")
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module
