"""Every task's programs compile for a TPU and for the H100, with no device.

Each task's smallest run is made on this machine's CPU while
`xmjax.programs.recording()` lists the programs it dispatches (every train
step and evaluation program, baseline fits, kNN searches), each with its
argument shapes and static values; each is then compiled again, never run,
for the TPU v5e and the H100 targets of `benchmarks.targets`. So an op, a
layout or a sharding that only an accelerator's compiler rejects fails
here. The targets need the `tpu` and `cuda` extras
(`pip install -e '.[tpu,cuda]'`, README); without them these tests skip,
saying what to install.
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import targets
from conftest import load_config, random_classification_graph, set_fields
from xmjax import programs
from xmjax.train import train_and_evaluate

ACCELERATOR_TARGETS = ("tpu-v5e", "h100")


def _esc_folds(path):
  from xmjax.data.synthetic import make_fold_features
  np.savez(os.path.join(path, "esc10.npz"), **make_fold_features(10, 8, seed=0))
  return set_fields(load_config("rrnet_esc10"), **{"data.dir": str(path), "rrnet.num_steps": 3})


def _cifar(arch, **fields):
  # Fake CIFAR images: the baseline CNN (BatchNorm, crops and flips on
  # device), its feature extraction, the RR-Net full-graph step and evaluation.
  return lambda path: set_fields(load_config("rrnet_cifar"), **{
      "data.fake_examples": 32, "baseline.arch": arch, "baseline.width": 0.125,
      "baseline.num_epochs": 1, "baseline.batch_size": 16, "baseline.eval_batch_size": 32,
      "rrnet.k1": 5, "rrnet.num_steps": 2, "rrnet.pad_multiple": 32, **fields})


# name -> (path -> config, the programs the run must dispatch: a part of
# each name, so a step that stops going through xmjax.programs is noticed).
RUNS = {
    "rrnet_cifar_resnet18": (_cifar("resnet18", **{"rrnet.ablations": "inter_only"}),
                             ("baseline_train_step", "baseline_predict", "rrnet_train_step",
                              "rrnet_eval_step", "knn.blockwise_topk")),
    # The spectrogram CNN (ESC's baseline) and RR-Net in bfloat16.
    "rrnet_cifar_spec_cnn_bfloat16": (_cifar("spec_cnn", dtype="bfloat16"),
                                      ("baseline_train_step", "baseline_predict",
                                       "rrnet_train_step", "rrnet_eval_step")),
    "rrnet_esc10_folds": (_esc_folds, ("folds_train_step", "folds_eval_step")),
    # Edge mini-batches, with attributes drawn as training draws them.
    "rrnet_ratings_edge_batches": (lambda path: set_fields(load_config("rrnet_ratings_demo"), **{
        "data.num_splits": 1, "rrnet.num_steps": 2, "rrnet.edge_batch_size": 256,
        "rrnet.edge_budget": 1000, "rrnet.node_attributes": "ratings",
        "rrnet.target_fraction": 0.2, "rrnet.prediction_draws": 2, "mf.num_steps": 20}),
        ("edge_batch_step", "probs_over_draws", "baselines._fit")),
    # The whole graph in one step, its inter-edge blocks in rematerialised chunks.
    "rrnet_ratings_full_graph_chunked": (lambda path: set_fields(
        load_config("rrnet_ratings_demo"), **{
            "data.num_splits": 1, "rrnet.num_steps": 2, "rrnet.edge_chunk_size": 512,
            "rrnet.attribute_layout": "sparse", "rrnet.node_attributes": "ratings",
            "mf.num_steps": 20}),
        ("full_graph_step", "held_out_targets", "probs_over_draws")),
    # "auto" would resolve to the host's "chunked" tiles while the run is
    # traced here; an accelerator runs "dot" (the chunked scorer is compiled
    # for the targets on its own below).
    "drsl_mfeat": (lambda path: set_fields(load_config("drsl_mfeat"), **{
        "train.num_epochs": 1, "train.batch_size": 96, "model.tile_reduction": "dot"}),
        ("drsl_selecting_step", "drsl_valid_metrics", "drsl_scores", "fit_logistic")),
    "sdml_mfeat": (lambda path: set_fields(load_config("sdml_mfeat"), **{
        "train.num_epochs": 1, "train.batch_size": 96, "data.modalities": "pix,fou,mor",
        "model.hidden": (64, 64), "model.code_dim": 16}),
        ("sdml_train_step", "encode")),
    "racg_scenes": (lambda path: set_fields(load_config("racg_scenes"), **{
        "data.scenes.train_pairs": 16, "data.scenes.test_pairs": 4, "data.scenes.feature_dim": 16,
        "model.joint_dim": 32, "model.position_dim": 8, "model.word_dim": 16,
        "model.num_heads": 4, "model.image_block": 4, "train.batch_size": 16,
        "train.num_epochs": 1, "train.baselines": ""}),
        ("racg_step.train_step", "similarity_matrix", "matched_cross_shares")),
    "vse_mfeat": (lambda path: set_fields(load_config("vse_mfeat"), **{
        "train.num_epochs": 1, "train.batch_size": 96}),
        ("vse_retrieval.train_step", "VSE.apply", "fit_logistic")),
}

_RECORDED: dict[str, list] = {}


def recorded_programs(name, tmp_path_factory):
  """The programs run `name` dispatched on the host (made once per test process)."""
  if name not in _RECORDED:
    make_config, expected = RUNS[name]
    path = tmp_path_factory.mktemp(name)
    with programs.recording() as recorded:
      train_and_evaluate(make_config(str(path)), str(path / "workdir"))
    names = [p.name for p in recorded]
    missing = [part for part in expected if not any(part in n for n in names)]
    assert not missing, f"{name}: no recorded program named like {missing}; recorded {names}"
    _RECORDED[name] = list(recorded)
  return _RECORDED[name]


@pytest.fixture(params=ACCELERATOR_TARGETS)
def accelerator(request):
  try:
    targets.activate(request.param)
  except RuntimeError as e:   # the extra is not installed: say which
    pytest.skip(str(e))
  yield targets.active()
  targets.activate(None)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_program_of_the_run_compiles_for_the_target(name, accelerator, tmp_path_factory):
  failures = []
  for program in recorded_programs(name, tmp_path_factory):
    try:
      compiled = targets.compile_program(program)
    except Exception as e:   # the compiler's error, per program, all of them listed below
      failures.append(f"{program.name} {program.static}: {type(e).__name__}: {str(e)[:500]}")
      continue
    # Compiled for the target's device (a host compile would say "cpu").
    placed = {d.platform for sh in jax.tree.leaves(compiled.input_shardings) for d in sh.device_set}
    assert placed == {"gpu" if accelerator.platform == "cuda" else accelerator.platform}
  assert not failures, f"{name} on {accelerator.name}:\n" + "\n".join(failures)


def test_chunked_relation_scores_and_their_gradient_compile_for_the_target(accelerator):
  from xmjax.nn import RelationNetwork
  from xmjax.nn.relation import COMPILER_OPTIONS
  net = RelationNetwork(hidden=40, block_size=32, tile_reduction="chunked")
  a, b = jnp.ones((70, 12)), jnp.ones((50, 12))
  params = net.init(jax.random.key(0), a, b)
  loss = lambda p, x, y: net.apply(p, x, y).sum()
  for fn in (net.apply, jax.grad(loss)):
    with programs.recording() as recorded:
      programs.jit(fn, compiler_options=COMPILER_OPTIONS)(params, a, b)
    (program,) = recorded
    assert targets.compile_program(program).memory_analysis() is not None


def test_rrnet_step_compiles_for_the_target_with_either_sent_edge_reduction(accelerator):
  # The recorded runs trace RRNet's backend default on this CPU (reshape +
  # sum); a TPU's default is the sorted segment sums: both forms compile.
  import optax
  from xmjax.models import RRNet, bce_loss
  graph = random_classification_graph(0, 40, 6, 5, 3, k1=3, k2=1, candidates=2)
  for sorted_segments in (True, False):
    model = RRNet(sorted_segments=sorted_segments)
    params = model.init(jax.random.key(0), graph)
    tx = optax.sgd(0.1)

    def step(params, opt_state, graph, model=model):
      grads = jax.grad(lambda p: bce_loss(model.apply(p, graph), graph.inter_targets,
                                          graph.inter_mask))(params)
      updates, opt_state = tx.update(grads, opt_state, params)
      return optax.apply_updates(params, updates), opt_state

    with programs.recording() as recorded:
      programs.jit(step)(params, tx.init(params), graph)
    (program,) = recorded
    assert targets.compile_program(program).memory_analysis() is not None, sorted_segments


def test_racg_training_still_needs_its_h100_compiler_option(tmp_path_factory):
  # xmjax.models.racg.TRAINING_COMPILER_OPTIONS works around the H100
  # compiler rejecting RACG's backward pass (jaxlib 0.10.2). If this stops
  # raising, a newer compiler tiles that dot: drop the option.
  from xmjax.models.racg import TRAINING_COMPILER_OPTIONS
  try:
    targets.activate("h100")
  except RuntimeError as e:
    pytest.skip(str(e))
  try:
    step = next(p for p in recorded_programs("racg_scenes", tmp_path_factory)
                if p.name.endswith("racg_step.train_step"))
    lowered = step.lower(jax.sharding.SingleDeviceSharding(targets.target_devices()[0]))
    assert TRAINING_COMPILER_OPTIONS == {"xla_gpu_enable_triton_gemm": False}
    with pytest.raises(Exception, match="Couldn't find output tile sizes"):
      lowered.compile(compiler_options={"xla_gpu_enable_triton_gemm": True})
  finally:
    targets.activate(None)


def test_recording_lists_each_program_once_per_signature_and_not_what_it_inlines():
  inner = programs.jit(lambda x: x * 2)

  def outer(x, *, power):
    return inner(x) ** power

  with programs.recording() as recorded:
    for _ in range(3):
      programs.compiled(outer, power=2)(np.ones(3, np.float32))
    programs.compiled(outer, power=3)(np.ones(3, np.float32))
    programs.compiled(outer, power=3)(np.ones(4, np.float32))
    inner(jax.numpy.ones(2))
  assert [(p.name.rsplit(".", 1)[-1], p.static) for p in recorded] == [
      ("outer", {"power": 2}), ("outer", {"power": 3}), ("outer", {"power": 3}), ("<lambda>", {})]
  assert [p.args[0].shape for p in recorded] == [(3,), (3,), (4,), (2,)]
  assert recorded[-1].args[0].weak_type is False
  # A recorded program lowers again on its shapes, to the same computation.
  np.testing.assert_array_equal(recorded[0].lower().compile()(np.full(3, 2.0, np.float32)),
                                np.full(3, 16.0))
