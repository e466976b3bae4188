"""Compile-only accelerator targets: every workload compiled for a TPU or an
H100 that is not there, with memory, costs and rooflines from the compiled
program.

    python -m benchmarks.run --suite=all --target=tpu-v5e [--quick] [--no-append]

XLA compiles for a described device without one present
(`jax.experimental.topologies.get_topology_desc`): TPU targets need the
`tpu` extra (`pip install -e '.[tpu]'`: libtpu from the package registry),
the H100 target the `cuda` extra (the CUDA plugin and its compiler
libraries) and runs with `JAX_PLATFORMS=cpu`. `--target=host` compiles for
this machine's CPU through the same path (what the tests run).

Per workload it records the compile time; the compiled program's argument,
output and temporary bytes (`memory_analysis`); FLOPs and bytes accessed;
the roofline floor max(FLOPs / peak FLOP/s, bytes / HBM bandwidth) at the
chip's published peaks (TARGETS); on TPU the compiler's own cost-model
estimate (`optimal_seconds`) and the sum of its per-instruction
`estimated_cycles`, with the count of gather, scatter and sort fusions the
estimate leaves out. The H100's compile-only client has no cost analysis:
XLA's generic HLO analysis of the compiled module stands in, which gives
cuDNN convolution custom calls no FLOPs (counted in the last column; such
FLOPs are marked "≥").

Loops. XLA's cost analysis counts a `while` body once whatever its trip
count (`lax.map`, `scan`, `fori_loop`), so: FLOPs are the suite's analytic
count where it gives one (every workload built on loops does) and the
cost analysis otherwise; the cycle sum is rebuilt from the scheduled HLO,
each while body's cycles multiplied by its `known_trip_count` (nested
loops recursively); bytes accessed stay the cost analysis' (a loop body
once: a lower bound when `loops` > 0, marked "≥" in the table).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import re
import time
from typing import Callable

import jax
import numpy as np


@dataclasses.dataclass(frozen=True)
class Target:
  """A chip to compile for, with the published peaks its roofline uses."""
  name: str
  platform: str             # "tpu", "cuda" or "cpu" (host)
  topology: str             # get_topology_desc's topology name
  chip: str
  peak_flops: float         # dense bf16 matmul FLOP/s (TPU f32 matmuls at default precision run as bf16 passes)
  hbm_bytes_per_s: float
  clock_hz: float = 0.0     # TPU: turns estimated_cycles into seconds
  source: str = ""


TARGETS = {
    # Google Cloud TPU v5e: 197 TFLOP/s bf16, 819 GB/s HBM2e, 16 GiB; 4 MXUs of
    # 128 x 128 at 197e12 / (4 * 128 * 128 * 2) = 1.5 GHz.
    "tpu-v5e": Target("tpu-v5e", "tpu", "v5e:1x1", "TPU v5e (one chip)", 197e12, 819e9,
                      1.5e9, "cloud.google.com/tpu/docs/v5e"),
    # TPU v5p: 459 TFLOP/s bf16, 2,765 GB/s HBM2e, 95 GiB; 2 TensorCores x 4 MXUs
    # at 459e12 / (8 * 128 * 128 * 2) = 1.75 GHz.
    "tpu-v5p": Target("tpu-v5p", "tpu", "v5p:2x2x1", "TPU v5p (one chip of a 2x2x1 slice)",
                      459e12, 2765e9, 1.75e9, "cloud.google.com/tpu/docs/v5p"),
    # NVIDIA H100 SXM5: 989.4 TFLOP/s dense bf16 (494.7 TF32), 3.35 TB/s HBM3, 80 GB.
    "h100": Target("h100", "cuda", "1x1x1", "NVIDIA H100 SXM5 80GB", 989.4e12, 3.35e12, 0.0,
                   "NVIDIA H100 Tensor Core GPU data sheet"),
    "host": Target("host", "cpu", "", "this machine's CPU (the compile-only path itself)",
                   0.0, 0.0),
}


@dataclasses.dataclass
class CompileRecord:
  suite: str
  workload: str
  impl: str
  target: str
  sizes: dict
  compile_s: float
  argument_bytes: int | None
  output_bytes: int | None
  temp_bytes: int | None
  flops: float | None
  flops_source: str            # "analytic" | "cost analysis" | "-"
  flops_lower_bound: bool      # cost analysis of loops (bodies once) or of uncosted custom calls
  bytes_accessed: float | None
  loops: int                   # while loops in the compiled program
  floor_s: float | None        # roofline: max(flops / peak, bytes / bandwidth)
  compiler_estimate_s: float | None   # TPU cost model's optimal_seconds
  estimated_cycles: float | None      # TPU: summed, loop bodies times their trip counts
  cycles_s: float | None
  uncovered_fusions: dict = dataclasses.field(default_factory=dict)   # gather/scatter/sort


_ACTIVE: Target | None = None


def activate(name: str | None) -> Target | None:
  """Makes the harness compile for target `name` instead of timing (None: time)."""
  global _ACTIVE
  if name is None:
    _ACTIVE = None
    return None
  if name not in TARGETS:
    raise ValueError(f"--target: unknown {name!r}; choose one of {sorted(TARGETS)}")
  target = TARGETS[name]
  if target.platform == "cuda" and jax.default_backend() != "cpu":
    raise RuntimeError(f"--target={name}: run with JAX_PLATFORMS=cpu (the CUDA plugin then "
                       "compiles for the described GPU without initialising one)")
  _ACTIVE = target
  try:
    target_devices()   # fails now, with the install line, if the target's compiler is missing
  except Exception:
    _ACTIVE = None
    raise
  return _ACTIVE


def active() -> Target | None:
  return _ACTIVE


def target_devices():
  """The devices of the active target (compile-only devices for TPU and H100)."""
  t = _ACTIVE
  if t.platform == "cpu":
    return jax.devices("cpu")[:1]
  from jax.experimental import topologies
  try:
    if t.platform == "tpu":
      topo = topologies.get_topology_desc(t.topology, "tpu", **(
          {"chips_per_host_bounds": (1, 1, 1)} if t.topology.endswith("1x1") else {}))
    else:
      topo = topologies.get_topology_desc(platform="cuda", topology=t.topology,
                                          target_config=gpu_target_config(t.name))
  except Exception as e:
    if (t.platform == "cuda" and os.environ.get("JAX_PLATFORMS", "") != "cpu"
        and _installed("jax_plugins.xla_cuda12")):
      # Without it the plugin tries to start a GPU client, and with none
      # there it offers no compile-only topology either.
      raise RuntimeError(f"--target={t.name}: start Python with JAX_PLATFORMS=cpu (the CUDA "
                         f"plugin compiles for a described GPU only then; {type(e).__name__}: "
                         f"{str(e)[:120]})") from e
    extra = "tpu" if t.platform == "tpu" else "cuda"
    raise RuntimeError(f"--target={t.name}: no compiler for {t.chip} here ({type(e).__name__}: "
                       f"{str(e)[:200]}); install it with pip install -e '.[{extra}]'") from e
  return topo.devices[:1]


def _installed(module: str) -> bool:
  try:
    return importlib.util.find_spec(module) is not None
  except ModuleNotFoundError:   # its parent package is not there either
    return False


# The H100 SXM5 as XLA's GPU compiler sees it (a GpuTargetConfigProto in text
# form): 132 SMs, compute capability 9.0, 228 KiB shared memory per SM, 50 MiB
# L2, 3.35 TB/s, 79 GiB. Only fields jaxlib 0.10's proto knows; no autotuning
# happens without a device, so kernels are the compiler's defaults.
H100_SXM_TARGET_CONFIG = """\
gpu_device_info {
  threads_per_block_limit: 1024
  threads_per_warp: 32
  shared_memory_per_block: 49152
  shared_memory_per_core: 233472
  threads_per_core_limit: 2048
  core_count: 132
  fpus_per_core: 128
  block_dim_limit_x: 2147483647
  block_dim_limit_y: 65535
  block_dim_limit_z: 65535
  memory_bandwidth: 3352320000000
  l2_cache_size: 52428800
  clock_rate_ghz: 1.98
  device_memory_size: 84942979072
  shared_memory_per_block_optin: 232448
  cuda_compute_capability {
    major: 9
    minor: 0
  }
  registers_per_core_limit: 65536
  registers_per_block_limit: 65536
}
platform_name: "CUDA"
dnn_version_info {
  major: 9
  minor: 8
  patch: 0
}
device_description_str: "NVIDIA H100 80GB HBM3"
"""


def gpu_target_config(name: str) -> str:
  return {"h100": H100_SXM_TARGET_CONFIG}[name]


def generic_cost_analysis(compiled) -> dict:
  """XLA's target-independent HLO cost analysis of the compiled module (the
  compile-only GPU client has no cost analysis of its own)."""
  from jax._src.lib import xla_client   # the analysis is not exported by jax
  module = compiled.runtime_executable().hlo_modules()[0]
  return dict(xla_client._xla.hlo_module_cost_analysis(jax.devices("cpu")[0].client, module))


def _shape_structs(args, sharding):
  def struct(x):
    if isinstance(x, (jax.Array, np.ndarray, np.generic)):
      return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)
    return x
  return jax.tree.map(struct, args)


_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%([\w.\-]+)\s*=\s*(.*)$")
_COMPUTATION = re.compile(r"^(?:ENTRY\s+)?%([\w.\-]+)\s*(?:\(.*\))?.*\{\s*$")


def hlo_cycles(text: str) -> tuple[float | None, dict[str, int], int]:
  """(summed estimated_cycles, each while body's and condition's times its
  known trip count, nested loops recursively; the count of gather, scatter
  and sort fusions without an estimate; the number of while loops) from a
  scheduled HLO module's text. An instruction with no estimate of its own
  counts what the computation it calls holds."""
  computations: dict[str, list[str]] = {}
  entry, current = None, None
  for line in text.splitlines():
    if current is None:
      m = _COMPUTATION.match(line)
      if m:
        current = m.group(1)
        computations[current] = []
        entry = current if line.startswith("ENTRY") else entry
    elif line.strip() == "}":
      current = None
    else:
      computations[current].append(line)
  uncovered: dict[str, int] = {}
  counts = {"loops": 0, "estimates": 0}

  def cycles_of(name: str) -> float:
    total = 0.0
    for line in computations.get(name, ()):
      m = _INSTRUCTION.match(line)
      if not m:
        continue
      instruction, body = m.groups()
      estimate = re.search(r'"estimated_cycles":"(\d+)"', body)
      if re.search(r"\swhile\(", body):
        counts["loops"] += 1
        trips = trip_count(body)
        for key in ("body", "condition"):
          called = re.search(rf"{key}=%([\w.\-]+)", body)
          if called:
            total += trips * cycles_of(called.group(1))
      elif estimate:
        counts["estimates"] += 1
        total += float(estimate.group(1))
      else:
        kind = re.search(r"(gather|scatter|sort)", instruction)
        if kind and (" fusion(" in body or re.search(rf"\b{kind.group(1)}\(", body)):
          uncovered[kind.group(1)] = uncovered.get(kind.group(1), 0) + 1
        called = re.search(r"\scalls=%([\w.\-]+)", body)
        if called and " fusion(" not in body:
          total += cycles_of(called.group(1))
    return total

  def trip_count(while_op: str) -> float:
    """XLA's known_trip_count, else N from a condition `counter < N` (how
    lax.scan, lax.map and fori_loop lower: a counter from 0 in steps of 1);
    unknown: 1, counted in uncovered["unknown trip count"]."""
    known = re.search(r'"known_trip_count":\{"n":"(\d+)"\}', while_op)
    if known:
      return float(known.group(1))
    condition = re.search(r"condition=%([\w.\-]+)", while_op)
    lines = computations.get(condition.group(1), ()) if condition else ()
    constants = dict(re.findall(r"%([\w.\-]+) = s32\[\]\S* constant\((\d+)\)", "\n".join(lines)))
    for line in lines:
      root = re.search(r"ROOT .*compare\(%([\w.\-]+), %([\w.\-]+)\), direction=LT", line)
      if root and root.group(2) in constants:
        return float(constants[root.group(2)])
    uncovered["unknown trip count"] = uncovered.get("unknown trip count", 0) + 1
    return 1.0

  if entry is None:
    return None, {}, 0
  total = cycles_of(entry)
  return (total if counts["estimates"] else None), uncovered, counts["loops"]


def compile_only(fn: Callable, args: tuple, *, suite: str, workload: str, sizes: dict,
                 impl: str = "xmjax", analytic_flops: float | None = None) -> CompileRecord:
  """`fn` (jitted) compiled for the active target on `args`' shapes and
  dtypes, never run."""
  t = _ACTIVE
  device = target_devices()[0]
  structs = _shape_structs(args, jax.sharding.SingleDeviceSharding(device))
  start = time.perf_counter()
  with _outside_the_persistent_cache():
    compiled = fn.lower(*structs).compile()
  compile_s = time.perf_counter() - start
  memory = compiled.memory_analysis()
  cost = None
  try:
    cost = compiled.cost_analysis()
  except Exception:   # the compile-only GPU client has none
    pass
  if isinstance(cost, list):
    cost = cost[0] if cost else None
  if not cost and t.platform == "cuda":
    cost = generic_cost_analysis(compiled)
  cost = cost or {}
  flops = analytic_flops if analytic_flops is not None else (float(cost.get("flops", 0)) or None)
  source = "analytic" if analytic_flops is not None else ("cost analysis" if flops else "-")
  bytes_accessed = float(cost.get("bytes accessed", 0)) or None
  text = compiled.as_text()
  if t.platform == "tpu":
    cycles, uncovered, loops = hlo_cycles(text)
  else:
    cycles, uncovered, loops = None, {}, text.count(" while(")
    # cuDNN convolutions are custom calls: the generic analysis gives them no FLOPs.
    convolutions = len(re.findall(r'custom_call_target="__cudnn\$conv', text))
    if convolutions:
      uncovered["cuDNN conv, no FLOPs"] = convolutions
  optimal = cost.get("optimal_seconds")
  floor = None
  if t.peak_flops and (flops or bytes_accessed):
    floor = max((flops or 0) / t.peak_flops, (bytes_accessed or 0) / t.hbm_bytes_per_s)
  return CompileRecord(
      suite=suite, workload=workload, impl=impl, target=t.name, sizes=dict(sizes),
      compile_s=compile_s, argument_bytes=getattr(memory, "argument_size_in_bytes", None),
      output_bytes=getattr(memory, "output_size_in_bytes", None),
      temp_bytes=getattr(memory, "temp_size_in_bytes", None), flops=flops, flops_source=source,
      flops_lower_bound=source == "cost analysis" and bool(
          loops or any(k.startswith("cuDNN") for k in uncovered)),
      bytes_accessed=bytes_accessed, loops=loops, floor_s=floor,
      compiler_estimate_s=optimal if optimal and optimal > 0 else None,   # CPU reports -1
      estimated_cycles=cycles,
      cycles_s=(cycles / t.clock_hz) if cycles and t.clock_hz else None,
      uncovered_fusions=uncovered)


@contextlib.contextmanager
def _outside_the_persistent_cache():
  """A compile-only executable cannot be loaded back from JAX's persistent
  compilation cache (no client to load it into): writing it there only
  costs time and a warning on the next read. Nothing compiles fast enough
  to be written while this holds."""
  name = "jax_persistent_cache_min_compile_time_secs"
  previous = getattr(jax.config, name)
  jax.config.update(name, 1e9)
  try:
    yield
  finally:
    jax.config.update(name, previous)


def compile_program(program):
  """A program a run recorded (`xmjax.programs.recording`) compiled for the
  active target on the recorded shapes, on one device, never run; returns
  the `jax.stages.Compiled` (memory_analysis, as_text)."""
  device = target_devices()[0]
  with _outside_the_persistent_cache():
    return program.lower(jax.sharding.SingleDeviceSharding(device)).compile()


def table(records: list[CompileRecord]) -> str:
  mib = lambda b: "-" if b is None else f"{b / 2 ** 20:.1f}"
  ms = lambda s: "-" if s is None else f"{1e3 * s:.3g}"
  lines = ["| suite | workload | impl | sizes | compile s | args MiB | out MiB | temp MiB | GFLOP "
           "(source) | GB accessed | loops | floor ms | compiler estimate ms | cycle sum ms | "
           "fusions without estimate |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
  for r in records:
    sizes = ", ".join(f"{k}={v}" for k, v in r.sizes.items())
    gb = "-" if r.bytes_accessed is None else (
        ("≥" if r.loops else "") + f"{r.bytes_accessed / 1e9:.3g}")
    gflop = "-" if r.flops is None else (
        ("≥" if r.flops_lower_bound else "")
        + f"{r.flops / 1e9:.4g} ({r.flops_source})")
    unc = ", ".join(f"{k} {v}" for k, v in sorted(r.uncovered_fusions.items())) or "-"
    lines.append(f"| {r.suite} | {r.workload} | {r.impl} | {sizes} | {r.compile_s:.1f} | "
                 f"{mib(r.argument_bytes)} | {mib(r.output_bytes)} | {mib(r.temp_bytes)} | "
                 f"{gflop} | {gb} | {r.loops} | {ms(r.floor_s)} | {ms(r.compiler_estimate_s)} | "
                 f"{ms(r.cycles_s)} | {unc} |")
  return "\n".join(lines)


def peaks_line(target: Target) -> str:
  if not target.peak_flops:
    return f"{target.chip}: no roofline (compile path only)."
  clock = f", clock {target.clock_hz / 1e9:.2f} GHz for cycles" if target.clock_hz else ""
  return (f"{target.chip}: peak {target.peak_flops / 1e12:.1f} TFLOP/s (dense bf16), HBM "
          f"{target.hbm_bytes_per_s / 1e9:.0f} GB/s{clock} ({target.source}).")
