"""Benchmark workloads, one function per suite, each returning Records."""

from __future__ import annotations

import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax

from benchmarks import targets
from benchmarks.harness import Record, time_callable, time_jitted
from xmjax import graph as G
from xmjax.graph.knn import blockwise_topk, prepare_points, resolve_blocks, search_blocks
from xmjax.models import RRNet, bce_loss
from xmjax.nn import default_sorted_segments


def rrnet_suite(quick: bool) -> list[Record]:
  """Full-graph RR-Net train step at CIFAR-100 scale (quick: a tenth of the nodes).

  50,000 image nodes (512-d) + 100 label nodes (300-d), k1 = 20, k2 = 3,
  K = 15, d = 16, 5 units, SGD with momentum.
  """
  n1 = 5_000 if quick else 50_000
  n2, k1, k2, kk = 100, 20, 3, 15
  rng = np.random.default_rng(0)
  labels = rng.integers(0, n2, n1)
  features = rng.normal(size=(n1, 512)).astype(np.float32)
  graph = G.classification_graph(features, rng.normal(size=(n2, 300)).astype(np.float32),
                                 rng.random((n1, n2)).astype(np.float32), labels,
                                 k1=k1, k2=k2, num_candidates=kk)
  tx = optax.chain(optax.add_decayed_weights(5e-4), optax.sgd(0.01, momentum=0.9))
  edges = n1 * k1 + n2 * k2 + n1 * kk

  def timed(model, impl):
    params = model.init(jax.random.key(0), graph)
    opt_state = tx.init(params)

    def train_step(params, opt_state, graph):
      loss, grads = jax.value_and_grad(
          lambda p: bce_loss(model.apply(p, graph), graph.inter_targets, graph.inter_mask))(params)
      updates, opt_state = tx.update(grads, opt_state, params)
      return optax.apply_updates(params, updates), opt_state, loss

    # No buffer donation here: the harness calls the step on the same arguments repeatedly.
    return time_jitted(jax.jit(train_step), (params, opt_state, graph), suite="rrnet",
                       workload="train_step_full_graph", impl=impl,
                       sizes=dict(n1=n1, n2=n2, k1=k1, k2=k2, K=kk, d=16, units=5),
                       work_units=edges, unit="edges/s",
                       repeats=3 if quick else (20 if on_accelerator() else 5))

  # The sent edges' reduction follows the target (sorted segment sums on a
  # TPU, whose compiler is slow on the reshape; reshape + sum elsewhere),
  # as RRNet's default does on the device it runs on; the other form is a row.
  sorted_segments = default_sorted_segments(target_platform())
  model = RRNet(latent=16, hidden=16, units="intra,inter,intra,inter,inter",
                sorted_segments=sorted_segments)
  other = "sent edges: reshape + sum" if sorted_segments else "sorted segment sums"
  # The default gathers each edge's sender row; repeating it (the fixed
  # layout) trades the gathers and their gradient scatters for broadcasts.
  # bfloat16 (`config.dtype`): half the bytes of every per-edge activation.
  return [timed(model, "xmjax"),
          timed(model.clone(repeat_sender_rows=True), "xmjax (sender rows repeated)"),
          timed(model.clone(dtype=jnp.bfloat16), "xmjax (bfloat16)"),
          timed(model.clone(sorted_segments=not sorted_segments), f"xmjax ({other})"),
          ] + rrnet_reference(graph, n1, n2, k1, k2, kk, quick)


def knn_suite(quick: bool) -> list[Record]:
  """Blockwise kNN graph (cosine), k = 20, with knn_graph's default blocks:
  the search itself, features on device. Full size is the FAISS goal's
  100,000 x 128."""
  n, d, k = (20_000, 128, 20) if quick else (100_000, 128, 20)
  points, bias = prepare_points(jax.random.normal(jax.random.key(0), (n, d)), "cosine")
  row_block, col_block, group = resolve_blocks(n, platform=target_platform())  # knn_graph's
  search = jax.jit(functools.partial(blockwise_topk, k=k, row_block=row_block,
                                     col_block=col_block, group=group, exclude_self=True))
  sizes = dict(n=n, d=d, k=k, row_block=row_block, col_block=col_block, group=group)
  records = [time_jitted(search, (points, points, bias), suite="knn", workload="knn_graph_cosine",
                         sizes=sizes, work_units=n, unit="nodes/s", repeats=2 if quick else 3,
                         analytic_flops=2.0 * n * n * d)]  # the similarity matmuls
  if torch_available():
    from benchmarks.reference import knn as ref
    device = torch_device()
    records.append(time_callable(ref.make_knn(n, d, k, device=device), suite="knn",
                                 workload="knn_graph_cosine", sizes=sizes, work_units=n,
                                 unit="nodes/s", impl=torch_impl("matmul + topk"),
                                 sync=torch_sync(device), repeats=2 if quick else 3))
    if device == "cpu" and module_available("faiss", "the FAISS row"):
      import faiss
      records.append(time_callable(ref.make_faiss_knn(n, d, k), suite="knn",
                                   workload="knn_graph_cosine", sizes=sizes, work_units=n,
                                   unit="nodes/s",
                                   impl=f"faiss-cpu {faiss.__version__} IndexFlatIP (exact)",
                                   repeats=2 if quick else 3))
  return records


def knn_million_suite(quick: bool) -> list[Record]:
  """A million-point graph: 1,000,000 x 512, k = 20, memory bounded by the blocks
  (never run with --quick; minutes on a GPU, hours on 2 CPU cores)."""
  if quick:
    return []
  n, d, k = 1_000_000, 512, 20
  points, bias = prepare_points(jax.random.normal(jax.random.key(0), (n, d)), "cosine")
  group = search_blocks(target_platform())[2]
  search = jax.jit(functools.partial(blockwise_topk, k=k, row_block=1024, col_block=8192,
                                     group=group, exclude_self=True))
  return [time_jitted(search, (points, points, bias), suite="knn_million", workload="knn_graph_cosine",
                      sizes=dict(n=n, d=d, k=k, row_block=1024, col_block=8192, group=group),
                      work_units=n,
                      unit="nodes/s", repeats=1, warmup=0, analytic_flops=2.0 * n * n * d)]


SUITES = {"rrnet": rrnet_suite, "knn": knn_suite}


# ----------------------------------------------------------------------------
# PyTorch references (the `bench` extra); skipped with a note when torch is absent.


def torch_available() -> bool:
  import importlib.util
  if targets.active() is not None:
    return False      # compile-only: references have nothing to compile
  if importlib.util.find_spec("torch") is not None:
    return True
  print("  (PyTorch not installed: reference rows skipped; pip install -e '.[bench]')",
        file=sys.stderr)
  return False


def torch_impl(what: str = "", compiled: bool = False) -> str:
  import torch
  mode = "torch.compile (inductor)" if compiled else "eager"
  return f"pytorch {torch.__version__} {mode}{' ' + what if what else ''}"


def module_available(name: str, note: str) -> bool:
  """Whether an optional peer library is importable; says so when not."""
  import importlib.util
  if importlib.util.find_spec(name) is not None:
    return True
  print(f"  ({name} not installed: {note} skipped)", file=sys.stderr)
  return False


def _attempt(make_record) -> list[Record]:
  """[make_record()], or [] with the error printed: a tuning variant that does
  not fit (out of memory) must not lose the suite's other rows."""
  try:
    return [make_record()]
  except Exception as e:  # XlaRuntimeError (RESOURCE_EXHAUSTED) and the like
    print(f"  variant failed: {type(e).__name__}: {str(e)[:300]}", file=sys.stderr)
    return []


def target_platform() -> str:
  """The platform the workloads are built for: a compile-only target's, else
  the default backend's (block sizes and sweeps follow it)."""
  target = targets.active()
  if target is not None:
    return {"cuda": "gpu"}.get(target.platform, target.platform)
  return jax.default_backend()


def on_accelerator() -> bool:
  return target_platform() in ("gpu", "tpu")


def torch_device() -> str:
  """The references run where xmjax runs: CUDA when JAX is on an NVIDIA GPU.
  There PyTorch is set to TF32 matrix products, which is what JAX does by
  default for float32 on tensor cores, so both sides use the same precision."""
  import torch
  if jax.default_backend() == "gpu" and torch.cuda.is_available():
    torch.set_float32_matmul_precision("high")
    return "cuda"
  return "cpu"


def torch_sync(device: str):
  import torch
  return torch.cuda.synchronize if device == "cuda" else None


def rrnet_reference(graph, n1, n2, k1, k2, kk, quick) -> list[Record]:
  """The same step in PyTorch (index_add_ scatter) and in PyTorch Geometric
  (its scatter-mean), where PyG is installed."""
  if not torch_available():
    return []
  import importlib.util
  from benchmarks.reference import rrnet as ref
  g = jax.device_get(graph)
  arrays = dict(
      nodes1=np.asarray(g.nodes1), nodes2=np.asarray(g.nodes2),
      intra1_s=np.asarray(g.intra1.senders), intra1_r=np.asarray(g.intra1.receivers),
      intra2_s=np.asarray(g.intra2.senders), intra2_r=np.asarray(g.intra2.receivers),
      inter_s=np.asarray(g.inter.senders), inter_r=np.asarray(g.inter.receivers),
      targets=np.asarray(g.inter_targets))
  device = torch_device()
  edges = n1 * k1 + n2 * k2 + n1 * kk
  variants = [(False, False, torch_impl("index_add_")),
              (False, True, torch_impl("index_add_", compiled=True))]
  if importlib.util.find_spec("torch_geometric") is not None:
    import torch_geometric
    variants.append((True, False, f"pyg {torch_geometric.__version__} ({torch_impl()})"))
  else:
    print("  (PyTorch Geometric not installed: PyG row skipped)", file=sys.stderr)
  records = []
  for pyg, compile_, impl in variants:
    # The compiled variant compiles in its warm-up calls; a failure to
    # compile must not lose the other rows.
    records += _attempt(lambda: time_callable(
        ref.make_train_step(arrays, device=device, pyg=pyg, compile=compile_), suite="rrnet",
        workload="train_step_full_graph",
        sizes=dict(n1=n1, n2=n2, k1=k1, k2=k2, K=kk, d=16, units=5),
        work_units=edges, unit="edges/s", impl=impl, sync=torch_sync(device),
        repeats=3 if quick else (20 if device == "cuda" else 5), compiles=compile_))
  return records


def sdml_suite(quick: bool) -> list[Record]:
  """One SDML step over the five PKU XMedia modalities (real widths), all
  networks in one jitted program vs. one jitted step per modality in turn."""
  from xmjax.models.sdml import orthogonal_projection
  from xmjax.configs import schemas
  from xmjax.train import sdml_step
  dims = {"image": 4096, "text": 3000, "audio": 29, "3d": 4700, "video": 4096}
  batch = 100
  config = schemas.schema("sdml_retrieval")
  rng = np.random.default_rng(0)
  data = {m: (jnp.asarray(rng.normal(size=(batch, d)), jnp.float32),
              jnp.asarray(rng.integers(0, 20, batch))) for m, d in dims.items()}
  rows = np.arange(batch)
  projection = orthogonal_projection(0, 512, 20)

  def fresh(modalities):
    nets = sdml_step.make_networks(config, {m: dims[m] for m in modalities})
    return sdml_step.init_joint_state(config, nets, projection, 10)

  # Schedules (and validation) beyond the timed steps: time the training step itself.
  def step_for(modalities):
    plan = tuple(sdml_step.Schedule(m, 10 ** 9, 10 ** 9) for m in modalities)
    return jax.jit(functools.partial(sdml_step.sdml_train_step, balance=0.5, schedule=plan))

  step = step_for(dims)
  valid = {m: (x[:10], y[:10]) for m, (x, y) in data.items()}
  repeats = 3 if quick else 10
  joint = fresh(dims)
  records = [time_jitted(step, (joint, {m: data[m] for m in dims}, valid, {m: rows for m in dims}),
                         suite="sdml", workload="step_5_modalities_joint",
                         sizes=dict(batch=batch, **dims), work_units=batch * len(dims),
                         unit="examples/s", repeats=repeats)]
  singles = {m: fresh((m,)) for m in dims}
  compiled = {m: step_for((m,)).lower(singles[m], {m: data[m]}, {m: valid[m]}, {m: rows}).compile()
              for m in dims}

  def one_after_another():
    out = [compiled[m](singles[m], {m: data[m]}, {m: valid[m]}, {m: rows}) for m in dims]
    return jax.block_until_ready(out)

  records.append(time_callable(one_after_another, suite="sdml",
                               workload="step_5_modalities_sequential",
                               sizes=dict(batch=batch, **dims), work_units=batch * len(dims),
                               unit="examples/s", impl="xmjax (one jit per modality)",
                               repeats=repeats))
  return records


SUITES["sdml"] = sdml_suite


def drsl_suite(quick: bool) -> list[Record]:
  """DRSL relation scores of every (image, text) pair, hidden 1024.

  xmjax at 4000 x 4000, a test split's scale (quick: 1000 x 1000), with the compiled
  program's largest temporary recorded (no (n, n, 1024) buffer), and at the
  reference size. The throughput reference is PyTorch with the first layer
  decomposed the same way (best of several row-chunk sizes); the literal
  form that materialises (n, n, hidden) is timed only as the memory row, at a
  size that fits (quick 400, full 1000). On a CPU the "dot" tiles (the
  default before "chunked") are timed beside the default; on an accelerator
  the tile reductions ("dot", "fused", "chunked") and block sizes are swept.
  """
  from xmjax.nn.relation import COMPILER_OPTIONS as RELATION_COMPILER_OPTIONS
  from xmjax.nn.relation import RelationNetwork
  accel = on_accelerator()
  n_big = 1000 if quick else 4000
  n_ref = 400 if quick else 1000
  d, hidden = 300, 1024
  records = []

  def xmjax_record(n, block, reduction, impl):
    net = RelationNetwork(hidden=hidden, fusion="concat", block_size=block, tile_reduction=reduction)
    a = jax.random.normal(jax.random.key(0), (n, d))
    b = jax.random.normal(jax.random.key(1), (n, d))
    params = net.init(jax.random.key(2), a[:2], b[:2])
    fn = jax.jit(net.apply, compiler_options=RELATION_COMPILER_OPTIONS)   # as DRSL's programs
    record = time_jitted(
        fn, (params, a, b), suite="drsl", workload=f"all_pairs_{n}x{n}",
        sizes=dict(n_images=n, n_texts=n, d=d, hidden=hidden, block=block, reduction=reduction),
        work_units=n * n, unit="pairs/s", impl=impl,
        repeats=2 if quick else (10 if accel else 3),
        analytic_flops=2.0 * n * n * hidden + 4.0 * n * d * hidden)
    record.sizes["pair_tensor_MiB"] = round(n * n * hidden * 4 / 2 ** 20)
    if isinstance(record, Record):   # timed here (a compile-only record has its temp bytes)
      # The compiled program's scratch memory: one tile, never the pair tensor.
      temp = fn.lower(params, a, b).compile().memory_analysis()
      record.sizes["temp_MiB"] = round(getattr(temp, "temp_size_in_bytes", 0) / 2 ** 20, 1)
    return record

  from xmjax.nn.relation import default_block_size, resolve_tile_reduction
  default = RelationNetwork()
  default_reduction = resolve_tile_reduction(default.tile_reduction, default.fusion,
                                             target_platform())
  default_block = default.block_size or default_block_size(target_platform(), default_reduction)
  for n in (n_big, n_ref):
    records.append(xmjax_record(n, default_block, default_reduction, "xmjax"))
  if not accel:   # the CPU default before the chunked reduction, for before/after
    dot_block = default_block_size(target_platform(), "dot")
    for n in (n_big, n_ref):
      records.append(xmjax_record(n, dot_block, "dot", f"xmjax (block {dot_block}, dot)"))
  if accel and not quick:
    for reduction in ("dot", "fused", "chunked"):
      for block in (32, 128, 256, 512, 1024):
        if (block, reduction) != (default_block, default_reduction):   # timed above
          records += _attempt(lambda: xmjax_record(n_big, block, reduction,
                                                   f"xmjax (block {block}, {reduction})"))
  if torch_available():
    from benchmarks.reference import drsl as ref
    device = torch_device()
    n = n_big if device == "cuda" else n_ref
    best = None
    for chunk in ((16, 64, 256) if device == "cuda" else (1, 2, 4, 16)):
      record = time_callable(ref.make_scorer(n, n, d, d, hidden, row_chunk=chunk, device=device),
                             suite="drsl", workload=f"all_pairs_{n}x{n}",
                             sizes=dict(n_images=n, n_texts=n, d=d, hidden=hidden, row_chunk=chunk),
                             work_units=n * n, unit="pairs/s",
                             impl=torch_impl("decomposed, row chunks"), sync=torch_sync(device),
                             repeats=2 if quick else (10 if device == "cuda" else 3))
      print(f"  pytorch decomposed, row chunk {chunk}: {record.median_s:.4g} s", file=sys.stderr)
      best = record if best is None or record.median_s < best.median_s else best
    records.append(best)
    compiled_best = None
    for chunk in ((64, 256) if device == "cuda" else (16, 64)):
      for record in _attempt(lambda: time_callable(
          ref.make_compiled_scorer(n, n, d, d, hidden, row_chunk=chunk, device=device),
          suite="drsl", workload=f"all_pairs_{n}x{n}",
          sizes=dict(n_images=n, n_texts=n, d=d, hidden=hidden, row_chunk=chunk),
          work_units=n * n, unit="pairs/s",
          impl=torch_impl("decomposed, fused relu-dot, row chunks", compiled=True),
          sync=torch_sync(device), repeats=2 if quick else (10 if device == "cuda" else 3),
          compiles=True)):
        print(f"  pytorch compiled, row chunk {chunk}: {record.median_s:.4g} s", file=sys.stderr)
        if compiled_best is None or record.median_s < compiled_best.median_s:
          compiled_best = record
    if compiled_best is not None:
      records.append(compiled_best)
    records.append(time_callable(ref.make_materialised_scorer(n_ref, n_ref, d, d, hidden, device=device),
                                 suite="drsl", workload=f"all_pairs_{n_ref}x{n_ref}",
                                 sizes=dict(n_images=n_ref, n_texts=n_ref, d=d, hidden=hidden,
                                            pair_tensor_MiB=round(n_ref * n_ref * hidden * 4 / 2 ** 20)),
                                 work_units=n_ref * n_ref, unit="pairs/s",
                                 impl=torch_impl("materialised (memory row)"), sync=torch_sync(device),
                                 repeats=2 if quick else 3))
  return records


def _racg_inputs(n_images: int, n_captions: int, regions: int, words: int, vocab: int):
  from xmjax.data.text import NUM_POS
  rng = np.random.default_rng(0)
  images = (rng.standard_normal((n_images, regions, 2048)).astype(np.float32),
            rng.random((n_images, regions, 4)).astype(np.float32),
            np.ones((n_images, regions), bool))
  captions = (rng.integers(4, vocab, (n_captions, words)).astype(np.int32),
              rng.integers(1, NUM_POS, (n_captions, words)).astype(np.int32),
              (np.arange(words) - 1)[None].repeat(n_captions, 0).astype(np.int32),
              np.full(n_captions, words, np.int32), rng.random((n_captions, words)) < 0.4)
  return images, captions


def _racg_record(n_images, image_block, caption_block, impl, repeats, warmup=1):
  from xmjax.data.text import NUM_POS
  from xmjax.models.racg import RACG, similarity_matrix
  n_captions = 5 * n_images
  regions, words, vocab = 36, 12, 10_000
  model = RACG(vocab_size=vocab, num_pos=NUM_POS)
  images, captions = _racg_inputs(n_images, n_captions, regions, words, vocab)
  params = model.init(jax.random.key(0), *[x[:2] for x in images],
                      *[x[:2] for x in captions])["params"]
  image_block, caption_block = min(image_block, n_images), min(caption_block, n_captions)
  fn = jax.jit(lambda p, i, c: similarity_matrix(p, i, c, model=model, image_block=image_block,
                                                 caption_block=caption_block))
  sizes = dict(images=n_images, captions=n_captions, regions=regions, words=words, d=1024,
               heads=64, image_block=image_block, caption_block=caption_block)
  return time_jitted(fn, (params, images, captions), suite="racg", workload="similarity_paper_sizes",
                     sizes=sizes, work_units=n_images * n_captions, unit="pairs/s", impl=impl,
                     repeats=repeats, warmup=warmup)


def racg_suite(quick: bool) -> list[Record]:
  """RACG similarity at paper sizes (36 regions of 2048-d, 12-word captions,
  joint 1024, 64 heads): images x 5 captions each, encoding included for
  xmjax. A COCO 1K test (1000 x 5000) takes (1000 * 5000) / throughput; measured
  here on a slice (quick 8 x 40, full 64 x 320; `--suite=racg_full` runs the
  whole 1000 x 5000) and compared per pair. The PyTorch reference builds
  each pair's integrated graph as written. On an accelerator the pair-block
  sizes are swept too."""
  accel = on_accelerator()
  n_images = 8 if quick else 64
  records = [_racg_record(n_images, 8, 40, "xmjax", repeats=2 if quick else 3)]
  if accel and not quick:
    for image_block, caption_block in ((16, 80), (32, 160), (64, 320)):
      records += _attempt(lambda: _racg_record(n_images, image_block, caption_block,
                                               f"xmjax (blocks {image_block} x {caption_block})",
                                               repeats=3))
  if torch_available():
    from benchmarks.reference import racg as ref
    device = torch_device()
    ref_images = 2 if quick else (16 if device == "cuda" else 4)
    sizes = dict(images=ref_images, captions=5 * ref_images, regions=36, words=12, d=1024, heads=64)
    records.append(time_callable(ref.make_scorer(ref_images, 5 * ref_images, 36, 12, device=device),
                                 suite="racg", workload="similarity_paper_sizes", sizes=sizes,
                                 work_units=ref_images * 5 * ref_images, unit="pairs/s",
                                 impl=torch_impl("per-pair graphs"), sync=torch_sync(device),
                                 repeats=1 if quick else 2))
  return records


def racg_train_suite(quick: bool) -> list[Record]:
  """RACG's training step at paper sizes (36 regions of 2048-d, 12-word
  captions, joint 1024, 64 heads, Adam): B image-caption pairs, all B x B
  scored, triplet + auxiliary loss, backward through the rematerialised
  pair blocks. Quick: B = 8; full: B = 32 (the paper's batch is 128). Twice:
  with the compiler options the task trains with
  (`xmjax.models.racg.TRAINING_COMPILER_OPTIONS`: no Triton GEMMs, which
  jaxlib 0.10.2's H100 compiler needs for this step) and without them,
  which says on a GPU what the option costs, or that it is still needed
  (the variant then fails to compile and only the first row is kept)."""
  import optax
  from xmjax.data.text import NUM_POS
  from xmjax.models.racg import RACG, TRAINING_COMPILER_OPTIONS
  from xmjax.train.racg_step import train_step
  from xmjax.train.state import create_train_state
  batch = 8 if quick else 32
  model = RACG(vocab_size=10_000, num_pos=NUM_POS)
  images, captions = _racg_inputs(batch, batch, 36, 12, 10_000)
  params = model.init(jax.random.key(0), *[x[:2] for x in images],
                      *[x[:2] for x in captions])["params"]
  image_ids = np.arange(batch)
  sizes = dict(batch=batch, regions=36, words=12, d=1024, heads=64)
  records = []
  for options, impl in ((TRAINING_COMPILER_OPTIONS, "xmjax"),
                        ({}, "xmjax (default compiler options)")):
    state = create_train_state(model.apply, params, optax.adam(2e-4))
    # The whole step's outputs (state and metrics): nothing is left for XLA to drop.
    step = jax.jit(functools.partial(train_step, margin=0.2, aux_weight=0.2, beta=0.7, gamma=0.3),
                   compiler_options=options or None)
    records += _attempt(lambda: time_jitted(
        step, (state, images, captions, image_ids), suite="racg_train", workload="train_step",
        sizes=sizes, work_units=batch, unit="pairs/s", impl=impl, repeats=2 if quick else 5))
  return records


def racg_full_suite(quick: bool) -> list[Record]:
  """COCO 1K's 1000 images x 5000 captions in one program (only when named;
  an accelerator workload: about an hour on 2 CPU cores)."""
  if quick:
    return []
  return [_racg_record(1000, 16, 80, "xmjax", repeats=1, warmup=0)]


def resnet_suite(quick: bool) -> list[Record]:
  """Flax ResNet18 (CIFAR) training step: SGD + momentum + weight decay, random
  crop and flip on device, float32 and bfloat16 (float32 params). Quick: a
  quarter of the width and batch 32; full: the real network, batch 128 (on
  an accelerator also batch 512, where a GPU is no longer launch bound). The
  PyTorch reference is the same network, channels-last with cuDNN autotuning
  and bfloat16 autocast on a GPU."""
  from xmjax.models.cnn import make_baseline
  from xmjax.configs import schemas
  from xmjax.train import optim
  from xmjax.train.baseline import baseline_train_step
  from xmjax.train.state import create_train_state
  accel = on_accelerator()
  width = 0.25 if quick else 1.0
  batches = (32,) if quick else ((128, 512) if accel else (128,))
  rng = np.random.default_rng(0)
  stats = (jnp.full((3,), 120.0), jnp.full((3,), 60.0))
  records = []
  device = torch_device() if torch_available() else None
  for batch in batches:
    data = jnp.asarray(rng.integers(0, 256, (4 * batch, 32, 32, 3)), jnp.uint8)
    labels = jnp.asarray(rng.integers(0, 10, 4 * batch), jnp.int32)
    rows = jnp.arange(batch)
    sizes = dict(batch=batch, width=width, image=32)
    suffix = "" if batch == batches[0] else f"_batch{batch}"
    for dtype in (jnp.float32, jnp.bfloat16):
      name = jnp.dtype(dtype).name
      model = make_baseline("resnet18", 10, dtype, width)
      variables = model.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3)))
      tx = optim.make_optimizer(schemas.optimizer_config(), 1000)
      state = create_train_state(model.apply, variables["params"], tx, variables["batch_stats"])
      step = jax.jit(functools.partial(baseline_train_step, crop_padding=4, flip=True))
      records.append(time_jitted(step, (state, data, labels, jax.random.key(1), stats, rows),
                                 suite="resnet", workload=f"resnet18_train_step_{name}{suffix}",
                                 sizes=sizes, work_units=batch, unit="images/s",
                                 repeats=2 if quick else (20 if accel else 5)))
      if device is not None and (dtype == jnp.float32 or device == "cuda"):
        from benchmarks.reference import resnet as ref
        autocast = ", bf16 autocast" if dtype == jnp.bfloat16 else ""
        for compile_ in (False, True):
          impl = torch_impl("channels-last" + autocast, compiled=compile_) \
              if device == "cuda" or compile_ else torch_impl()
          # The compiled variant compiles in its warm-up call; a failure to
          # compile must not lose the other rows.
          records += _attempt(lambda: time_callable(
              ref.make_train_step(batch, width, device=device, bfloat16=dtype == jnp.bfloat16,
                                  compile=compile_),
              suite="resnet", workload=f"resnet18_train_step_{name}{suffix}", sizes=sizes,
              work_units=batch, unit="images/s", impl=impl, sync=torch_sync(device),
              repeats=2 if quick else (20 if device == "cuda" else 5), compiles=compile_))
  return records


SUITES.update(drsl=drsl_suite, racg=racg_suite, resnet=resnet_suite, knn_million=knn_million_suite,
              racg_full=racg_full_suite, racg_train=racg_train_suite)
# Run only when named: minutes on a GPU, hours on a CPU.
NAMED_ONLY = ("knn_million", "racg_full")
