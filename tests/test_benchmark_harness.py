"""The benchmark harness measures what it says (tiny sizes; no timing assertions)."""

import dataclasses
import importlib.util

import jax
import jax.numpy as jnp
import pytest

from benchmarks.harness import Record, time_callable, time_jitted
from benchmarks.run import peak_fractions, reference_ratios, table


def test_time_jitted_reports_compile_time_steps_and_flops():
  x = jnp.ones((64, 64))
  record = time_jitted(jax.jit(lambda a: a @ a), (x,), suite="t", workload="matmul",
                       sizes={"n": 64}, work_units=64, unit="rows/s", repeats=3)
  assert record.compile_s > 0 and record.median_s > 0 and record.spread_s >= 0
  assert abs(record.throughput - 64 / record.median_s) < 1e-6 * record.throughput
  assert record.flops is None or record.flops >= 2 * 64 ** 3 * 0.9
  assert "matmul" in table([record]) and "rows/s" in table([record])


def _record(impl, throughput, workload="w", suite="s"):
  return Record(suite=suite, workload=workload, impl=impl, device="cpu", sizes={}, compile_s=0.0,
                median_s=1.0 / throughput, spread_s=0.0, throughput=throughput, unit="x/s",
                flops=None, flops_per_s=None, peak_memory_bytes=None)


def test_every_reference_row_gets_its_own_ratio():
  records = [_record("xmjax", 30.0), _record("pytorch index_add_", 10.0), _record("pyg", 15.0),
             _record("xmjax (block 64, fused)", 99.0), _record("pytorch", 5.0, workload="other")]
  ratios = reference_ratios(records)
  assert ratios == {1: 3.0, 2: 2.0}     # no xmjax row of "other"; tuning variants get none


def test_percent_of_peak_uses_the_precision_of_the_workload():
  peaks = {"tf32": 100e9, "bf16": 200e9, "fp32": 10e9, "bytes": 1e9}
  r = _record("xmjax", 1.0, workload="resnet18_train_step_bfloat16")
  r.flops_per_s, r.bytes_per_s = 50e9, 0.5e9
  assert peak_fractions(r, peaks) == (0.25, 0.5)
  r.workload = "resnet18_train_step_float32"
  assert peak_fractions(r, peaks) == (0.5, 0.5)
  assert peak_fractions(r, None) == (None, None)
  assert "| 50.0 | 50.0 |" in table([r], peaks)


def test_time_callable_waits_for_sync():
  calls = []
  record = time_callable(lambda: calls.append("f"), suite="s", workload="w", sizes={},
                         work_units=1, unit="x/s", impl="ref", repeats=2, warmup=1,
                         sync=lambda: calls.append("sync"))
  assert calls == ["f", "sync", "f", "sync", "f", "sync"] and record.median_s >= 0


def test_time_callable_records_a_compiling_first_call_as_compile_time():
  import time
  calls = []

  def fn():   # the first call is slow, as torch.compile's is
    time.sleep(0.2 if not calls else 0.0)
    calls.append(1)

  record = time_callable(fn, suite="s", workload="w", sizes={}, work_units=1, unit="x/s",
                         impl="ref", repeats=2, warmup=1, compiles=True)
  assert record.compile_s >= 0.2 > record.median_s and len(calls) == 3
  plain = time_callable(fn, suite="s", workload="w", sizes={}, work_units=1, unit="x/s",
                        impl="ref", repeats=2, warmup=1)
  assert plain.compile_s == 0.0


def test_drsl_references_agree_with_each_other():
  torch = pytest.importorskip("torch")
  from benchmarks.reference.drsl import (make_compiled_scorer, make_materialised_scorer,
                                         make_scorer)
  full = make_materialised_scorer(37, 23, 12, 8, 32)()
  for chunk in (1, 5, 64):
    assert torch.allclose(make_scorer(37, 23, 12, 8, 32, row_chunk=chunk)(), full, atol=1e-5)
  assert torch.allclose(make_compiled_scorer(37, 23, 12, 8, 32, row_chunk=16)(), full, atol=1e-5)


def test_faiss_knn_is_the_same_graph_as_topk():
  pytest.importorskip("torch")
  pytest.importorskip("faiss")
  import numpy as np
  from benchmarks.reference import knn as ref
  exact = ref.make_knn(500, 16, 7, row_block=128)().numpy()
  faiss_graph = ref.make_faiss_knn(500, 16, 7)()
  assert faiss_graph.shape == (500, 7)
  assert not (faiss_graph == np.arange(500)[:, None]).any()      # no self edges
  assert all(set(a) == set(b) for a, b in zip(exact, faiss_graph))


def test_rrnet_references_agree_on_the_loss():
  """The index_add_ and the PyG-style aggregation compute the same step
  (PyG itself is not installed on CPU machines: its scatter is checked
  through the same mean where present)."""
  torch = pytest.importorskip("torch")
  from benchmarks.reference import rrnet as ref
  senders, receivers = torch.tensor([0, 0, 1, 3]), torch.tensor([1, 2, 2, 0])
  edges = torch.arange(8.0).reshape(4, 2)
  mean = ref.aggregate_mean(edges, senders, receivers, 5)
  expected = torch.stack([(edges[0] + edges[1] + edges[3]) / 3, (edges[0] + edges[2]) / 2,
                          (edges[1] + edges[2]) / 2, edges[3], torch.zeros(2)])
  assert torch.allclose(mean, expected)
  if importlib.util.find_spec("torch_geometric") is not None:
    assert torch.allclose(ref.aggregate_mean_pyg(edges, senders, receivers, 5), expected)


def test_gpu_merge_writes_one_section(tmp_path):
  import json
  from benchmarks.gpu import merge
  records = [_record("xmjax", 30.0), _record("pyg 2.8 (pytorch)", 10.0)]
  path = tmp_path / "s.json"
  path.write_text(json.dumps([dataclasses.asdict(r) for r in records]))
  assert merge.main([str(tmp_path / "all.json"), str(tmp_path / "all.md"), str(path)]) == 0
  text = (tmp_path / "all.md").read_text()
  assert "benchmarks/gpu/run.sh" in text and "| 3x |" in text
  assert json.loads((tmp_path / "all.json").read_text())[1]["xmjax_over_this"] == 3.0
