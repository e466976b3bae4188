"""The compile-only target path (benchmarks/targets.py): a workload compiled,
never run, with memory and costs from the compiled program; loop bodies
counted their trip count of times. The host target runs the same path the
TPU and H100 targets do (those need the `tpu` / `cuda` extras)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import targets
from benchmarks.harness import time_callable, time_jitted


@pytest.fixture
def host_target():
  targets.activate("host")
  yield targets.active()
  targets.activate(None)


def test_a_workload_is_compiled_for_the_target_and_never_run(host_target):
  ran = []

  def f(a, b):
    jax.debug.callback(lambda: ran.append(1))
    return jnp.tanh(a @ b)

  a = np.ones((64, 32), np.float32)
  record = time_jitted(jax.jit(f), (a, a.T), suite="t", workload="w", sizes={"n": 64},
                       work_units=1, unit="x/s")
  assert isinstance(record, targets.CompileRecord) and not ran
  assert record.target == "host" and record.argument_bytes == 2 * a.nbytes
  assert record.output_bytes == 64 * 64 * 4
  assert record.flops >= 0.99 * 2 * 64 * 64 * 32 and record.flops_source == "cost analysis"
  # References have nothing to compile: they drop out of a compile-only table.
  assert time_callable(lambda: None, suite="t", workload="w", sizes={}, work_units=1,
                       unit="x/s", impl="ref") is None
  assert "| t | w | xmjax | n=64 |" in targets.table([record])


def test_an_analytic_count_replaces_a_loop_counted_once(host_target):
  def scanned(a):
    return jax.lax.scan(lambda c, _: (c @ a, None), a, None, length=9)[0]
  a = np.ones((32, 32), np.float32)
  counted = time_jitted(jax.jit(scanned), (a,), suite="t", workload="w", sizes={}, work_units=1,
                        unit="x/s")
  assert counted.loops >= 1 and counted.flops < 9 * 2 * 32 ** 3   # XLA: the body once
  assert "≥" in targets.table([counted])
  given = time_jitted(jax.jit(scanned), (a,), suite="t", workload="w", sizes={}, work_units=1,
                      unit="x/s", analytic_flops=9 * 2 * 32 ** 3)
  assert given.flops == 9 * 2 * 32 ** 3 and given.flops_source == "analytic"


HLO = """\
HloModule m, is_scheduled=true

%cond (p: (s32[], f32[8])) -> pred[] {
  %p = (s32[], f32[8]) parameter(0)
  %i = s32[] get-tuple-element(%p), index=0
  %constant.3 = s32[] constant(7)
  ROOT %lt = pred[] compare(%i, %constant.3), direction=LT
}

%inner_cond (q: (s32[], f32[8])) -> pred[] {
  %q = (s32[], f32[8]) parameter(0)
  ROOT %c = pred[] constant(true)
}

%inner_body (q: (s32[], f32[8])) -> (s32[], f32[8]) {
  ROOT %f.2 = (s32[], f32[8]) fusion(%q), kind=kLoop, calls=%x, backend_config={"estimated_cycles":"5"}
}

%body (p: (s32[], f32[8])) -> (s32[], f32[8]) {
  %f.1 = (s32[], f32[8]) fusion(%p), kind=kLoop, calls=%y, backend_config={"estimated_cycles":"100"}
  ROOT %w.2 = (s32[], f32[8]) while(%f.1), condition=%inner_cond, body=%inner_body, backend_config={"known_trip_count":{"n":"3"}}
}

ENTRY %main (a: f32[8]) -> f32[8] {
  %a = f32[8] parameter(0)
  %fusion.0 = f32[8] fusion(%a), kind=kLoop, calls=%z, backend_config={"estimated_cycles":"10"}
  %gather_custom_fusion.1 = f32[8] fusion(%fusion.0), kind=kCustom, calls=%g
  %w.1 = (s32[], f32[8]) while(%fusion.0), condition=%cond, body=%body
  ROOT %r = f32[8] get-tuple-element(%w.1), index=1
}
"""


def test_cycle_estimates_count_each_loop_body_its_trip_count_of_times():
  cycles, uncovered, loops = targets.hlo_cycles(HLO)
  # 10 outside; the outer loop's 7 trips (read from its condition) of 100 plus
  # the inner loop's 3 known trips of 5.
  assert cycles == 10 + 7 * (100 + 3 * 5)
  assert uncovered == {"gather": 1} and loops == 2


def test_a_target_without_its_compiler_says_what_to_install(monkeypatch):
  from jax.experimental import topologies

  def missing(*args, **kwargs):
    raise RuntimeError("no libtpu")
  monkeypatch.setattr(topologies, "get_topology_desc", missing)
  with pytest.raises(RuntimeError, match=r"--target=tpu-v5e: .*pip install -e '\.\[tpu\]'"):
    targets.activate("tpu-v5e")
  assert targets.active() is None
  # The H100 target: the missing extra, or the plugin there but JAX not started CPU-only.
  monkeypatch.delenv("JAX_PLATFORMS", raising=False)
  monkeypatch.setattr(targets.importlib.util, "find_spec", lambda name: None)
  with pytest.raises(RuntimeError, match=r"--target=h100: .*pip install -e '\.\[cuda\]'"):
    targets.activate("h100")
  monkeypatch.setattr(targets.importlib.util, "find_spec", lambda name: object())
  with pytest.raises(RuntimeError, match=r"--target=h100: start Python with JAX_PLATFORMS=cpu"):
    targets.activate("h100")
  assert targets.active() is None


def test_the_benchmark_command_compiles_a_suite_for_a_target(capsys):
  from benchmarks import run
  assert run.main(["--suite=knn", "--quick", "--target=host", "--no-append"]) == 0
  out = capsys.readouterr().out
  assert "| knn | knn_graph_cosine | xmjax |" in out and "(analytic)" in out
  assert targets.active() is None
