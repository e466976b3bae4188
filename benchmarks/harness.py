"""Timing of jitted workloads: compile time, steady-state step time, FLOPs."""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import time
from typing import Any, Callable

import jax

from benchmarks import targets


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
  bytes_accessed: float | None = None   # XLA's cost analysis: HBM/DRAM traffic estimate
  bytes_per_s: float | None = None


# Dense peaks of the accelerators we report against: (matmul FLOP/s at the
# benchmarked precision, memory bytes/s). JAX runs float32 matrix products on
# NVIDIA tensor cores as TF32 by default, so float32 workloads are compared
# with the TF32 peak and bfloat16 ones with the BF16 peak. Sources: NVIDIA's
# H100 SXM5 / H200 data sheets (dense, no sparsity).
DEVICE_PEAKS = {
    "NVIDIA H100 80GB HBM3": {"tf32": 494.7e12, "bf16": 989.4e12, "fp32": 66.9e12, "bytes": 3.35e12},
    "NVIDIA H200": {"tf32": 494.7e12, "bf16": 989.4e12, "fp32": 66.9e12, "bytes": 4.8e12},
}


def device_peaks() -> dict | None:
  d = jax.devices()[0]
  return DEVICE_PEAKS.get(getattr(d, "device_kind", ""))


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

  Under a compile-only target (`benchmarks.targets.activate`) it compiles
  for that target instead and returns a `targets.CompileRecord`.
  """
  if targets.active() is not None:
    return targets.compile_only(fn, args, suite=suite, workload=workload, sizes=sizes, impl=impl,
                                analytic_flops=analytic_flops)
  start = time.perf_counter()
  lowered = fn.lower(*args)
  compiled = lowered.compile()
  compile_s = time.perf_counter() - start
  flops = bytes_accessed = None
  try:
    cost = compiled.cost_analysis()
    if isinstance(cost, list):
      cost = cost[0]
    flops = float(cost.get("flops", 0.0)) or None
    bytes_accessed = float(cost.get("bytes accessed", 0.0)) or None
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
                flops_per_s=(flops / median) if flops else None, peak_memory_bytes=peak,
                bytes_accessed=bytes_accessed,
                bytes_per_s=(bytes_accessed / median) if bytes_accessed else None)


def time_callable(fn: Callable[[], Any], *, suite: str, workload: str, sizes: dict,
                  work_units: float, unit: str, impl: str, repeats: int = 5,
                  warmup: int = 1, sync: Callable[[], Any] | None = None,
                  compiles: bool = False) -> Record:
  """Times an arbitrary callable (e.g. a reference implementation). `sync`
  waits for asynchronous work (torch.cuda.synchronize on a GPU). `compiles`:
  the first call compiles (torch.compile), and its wall time is recorded as
  the compile time (else 0). None under a compile-only target: there is
  nothing to compile, nor a device."""
  if targets.active() is not None:
    return None
  sync = sync or (lambda: None)
  first_call_s = 0.0
  for i in range(max(warmup, 1 if compiles else 0)):
    t = time.perf_counter()
    fn()
    sync()
    if i == 0:
      first_call_s = time.perf_counter() - t
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    fn()
    sync()
    times.append(time.perf_counter() - t)
  median = statistics.median(times)
  return Record(suite=suite, workload=workload, impl=impl, device=device_line(), sizes=sizes,
                compile_s=first_call_s if compiles else 0.0, median_s=median, spread_s=max(times) - min(times),
                throughput=work_units / median, unit=unit, flops=None, flops_per_s=None,
                peak_memory_bytes=None)
