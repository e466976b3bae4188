"""Timing of jitted workloads: compile time, steady-state step time, FLOPs."""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import time
from typing import Any, Callable

import jax


@dataclasses.dataclass
class Record:
  suite: str
  workload: str
  impl: str
  device: str
  sizes: dict
  compile_s: float
  median_s: float
  spread_s: float          # (max - min) of the timed repeats
  throughput: float
  unit: str
  flops: float | None
  flops_per_s: float | None
  peak_memory_bytes: int | None


def device_line() -> str:
  d = jax.devices()[0]
  kind = getattr(d, "device_kind", d.platform)
  return (f"{d.platform}:{kind} x{jax.device_count()} ({platform.machine()}, "
          f"{os.cpu_count()} host cores, jax {jax.__version__})")


def _block(tree):
  return jax.block_until_ready(tree)


def time_jitted(fn: Callable, args: tuple, *, suite: str, workload: str, sizes: dict,
                work_units: float, unit: str, repeats: int = 5, warmup: int = 1,
                impl: str = "xmjax", analytic_flops: float | None = None) -> Record:
  """Compiles `fn` (a jax.jit-wrapped callable) on `args`, then times calls.

  Throughput = work_units / median step time. FLOPs come from XLA's cost
  analysis of the compiled program where the backend reports it, unless
  `analytic_flops` is given: XLA counts a loop body once, so programs built on
  lax.scan/lax.map pass their own count.
  """
  start = time.perf_counter()
  lowered = fn.lower(*args)
  compiled = lowered.compile()
  compile_s = time.perf_counter() - start
  flops = None
  try:
    cost = compiled.cost_analysis()
    if isinstance(cost, list):
      cost = cost[0]
    flops = float(cost.get("flops", 0.0)) or None
  except Exception:  # Not every backend reports costs.
    pass
  if analytic_flops is not None:
    flops = analytic_flops
  for _ in range(warmup):
    _block(compiled(*args))
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    _block(compiled(*args))
    times.append(time.perf_counter() - t)
  median = statistics.median(times)
  peak = None
  stats = getattr(jax.devices()[0], "memory_stats", lambda: None)()
  if stats:
    peak = stats.get("peak_bytes_in_use")
  return Record(suite=suite, workload=workload, impl=impl, device=device_line(), sizes=sizes,
                compile_s=compile_s, median_s=median, spread_s=max(times) - min(times),
                throughput=work_units / median, unit=unit, flops=flops,
                flops_per_s=(flops / median) if flops else None, peak_memory_bytes=peak)


def time_callable(fn: Callable[[], Any], *, suite: str, workload: str, sizes: dict,
                  work_units: float, unit: str, impl: str, repeats: int = 5,
                  warmup: int = 1) -> Record:
  """Times an arbitrary callable (e.g. a reference implementation); no compile phase."""
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t)
  median = statistics.median(times)
  return Record(suite=suite, workload=workload, impl=impl, device=device_line(), sizes=sizes,
                compile_s=0.0, median_s=median, spread_s=max(times) - min(times),
                throughput=work_units / median, unit=unit, flops=None, flops_per_s=None,
                peak_memory_bytes=None)
