"""Packages: xmjax and its subpackages, plus the top-level configs/ folder
as `xmjax.shipped_configs`, so an installed wheel carries the shipped
configs (`xmjax train --config=rrnet_digits`). Everything else is in
pyproject.toml."""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["xmjax", "xmjax.*"]) + ["xmjax.shipped_configs"],
      package_dir={"xmjax.shipped_configs": "configs"})
