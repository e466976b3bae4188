"""The benchmark harness measures what it says (tiny sizes; no timing assertions)."""

import jax
import jax.numpy as jnp

from benchmarks.harness import time_jitted
from benchmarks.run import table


def test_time_jitted_reports_compile_time_steps_and_flops():
  x = jnp.ones((64, 64))
  record = time_jitted(jax.jit(lambda a: a @ a), (x,), suite="t", workload="matmul",
                       sizes={"n": 64}, work_units=64, unit="rows/s", repeats=3)
  assert record.compile_s > 0 and record.median_s > 0 and record.spread_s >= 0
  assert abs(record.throughput - 64 / record.median_s) < 1e-6 * record.throughput
  assert record.flops is None or record.flops >= 2 * 64 ** 3 * 0.9
  assert "matmul" in table([record]) and "rows/s" in table([record])
