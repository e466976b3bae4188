"""The schema of every experiment's config: each field a config may set, its
default, and a comment saying what it does. Configs are data: this module
imports ml_collections and nothing of JAX, so loading any `configs/*.py`
costs no accelerator initialisation.

Each function returns a *locked* ConfigDict: a config file or a
`--config.X=...` override that names a field the schema lacks fails at once,
with ml_collections' "did you mean" suggestion, and a field keeps its type.
"""

from __future__ import annotations

import ml_collections

__all__ = ["EXPERIMENTS", "drsl_retrieval", "mesh_config", "optimizer_config", "racg_retrieval",
           "retrieval_data_config", "rrnet_classification", "rrnet_folds", "rrnet_ratings",
           "run_header", "schema", "sdml_retrieval"]


def run_header(name: str, experiment: str) -> ml_collections.ConfigDict:
  """The fields every experiment's config starts with."""
  return ml_collections.ConfigDict(dict(
      name=name, experiment=experiment,
      seed=0,
      dtype="float32",   # or "bfloat16" (params, optimizer and loss stay float32)
      log_every=50))


def optimizer_config(**overrides) -> ml_collections.ConfigDict:
  """Every optimizer field a config may set (paper SGD defaults), with overrides."""
  config = ml_collections.ConfigDict(dict(
      name="sgd", learning_rate=0.01, momentum=0.9, weight_decay=5e-4, schedule="constant",
      warmup_steps=0, decay_factor=0.1, decay_at=(0.5, 0.75), b1=0.9, b2=0.999))
  config.update(overrides)
  return config


def mesh_config(**overrides) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict(dict(
      data=0))  # devices on the data axis; 0 = every local device
  config.update(overrides)
  return config


def retrieval_data_config(**overrides) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict(dict(
      format="mfeat",      # mfeat | sdml_h5 | xmedia_mat | pascal_mat | wikipedia_mat
      dir="",              # directory holding the file(s); "" = shipped data (mfeat)
      file="",             # sdml_h5: the *.h5py name; xmedia_mat: XMediaFeatures.mat;
                           # wikipedia_mat: raw_features.mat
      modalities="",       # comma-separated modalities to use ("" = all of the data set)
      valid_len=0,         # sdml_h5: first rows of the test split used for validation
      valid_fraction=0.1,  # pascal_mat, wikipedia_mat, mfeat: stratified validation part of training
      test_fraction=0.2,   # mfeat: stratified test part
      split_seed=0,
      standardize=True))   # per modality, training statistics only
  c.update(overrides)
  return c



def _rrnet_classification() -> ml_collections.ConfigDict:
  """RR-Net over a CNN baseline on image classification (digits, CIFAR)."""
  c = run_header("rrnet_classification", "rrnet_classification")
  c.mesh = mesh_config()  # data-parallel devices for the baseline CNN
  c.data = ml_collections.ConfigDict(dict(
      # The shipped UCI 8x8 digits, the shipped UCI Multiple Features
      # ("mfeat", feature vectors: use baseline.arch "mlp"), "cifar10" /
      # "cifar100" (TFDS, or an image folder in `path`), or "esc10" /
      # "esc50" (spectrogram folder in `path`, fold `test_fold` tests).
      name="optdigits",
      # optdigits, mfeat: "" = the shipped file; cifar10/100: an image folder
      # <split>/<class>/<image> (directory or .tar/.tar.gz) read instead of
      # TFDS; esc10/50: the spectrogram folder (directory or .tar.gz).
      path="",
      image_size=(),           # image folders: (height, width) to resize to; () = as stored
      max_per_class=0,         # image folders: keep the first N images of each class per split (0 = all)
      cache_dir="",            # decoded image/spectrogram folders ("" = $XMJAX_CACHE_DIR or ~/.cache/xmjax)
      test_fold=1,             # esc10/50: the ESC fold (1..5) that is the test split
      views="",                # mfeat: views concatenated as the instance features ("" = all six)
      data_dir="",             # TFDS sets: a prepared copy ("" = TFDS's default)
      # TFDS sets: > 0 replaces the files by this many generated examples of
      # the real shapes and label space per split (smoke tests, throughput).
      fake_examples=0,
      fake_test_examples=0,    # generated test examples (0: fake_examples)
      split_seed=0,            # seeded stratified splits, recorded in the workdir
      test_fraction=0.2,       # optdigits only; TFDS sets use their test split
      # Stratified part of the training split held out as a validation graph
      # (built from its own rows, like the test graph) for validation curves.
      valid_fraction=0.0,
      # Fraction of the training split kept from the baseline: RR-Net then
      # trains on these rows, whose baseline features are out-of-sample like
      # the test rows' (stacking). 0 = the paper's setting, one training set.
      holdout_fraction=0.0))
  c.baseline = ml_collections.ConfigDict(dict(
      arch="digits_cnn",       # or resnet18, resnet50, mobilenet_v2 (CIFAR variants), spec_cnn, mlp
      width=1.0,               # channel multiplier (1.0 = the published networks)
      num_epochs=20, batch_size=64, eval_batch_size=512,
      checkpoint_every=200,
      crop_padding=1,          # random-crop augmentation: pad by this many pixels, crop back
      flip=False,              # random left-right flips (off for digits)
      optimizer=optimizer_config(learning_rate=0.05, schedule="cosine")))
  c.rrnet = ml_collections.ConfigDict(dict(
      k1=10,                   # kNN degree among instances
      k2=2,                    # kNN degree among label nodes
      num_candidates=10,       # K: inter edges per instance (top-K baseline classes)
      latent=16, hidden=16,
      units="intra,inter,intra,inter,inter",
      aggregation="mean", layer_norm=False, metric="cosine",
      label_features="onehot", label_dim=64,  # label_dim: width of "random" label features
      label_embeddings="",     # label_features="file": .npy (classes, d) or .npz key "embeddings"
      standardize_features=False,  # per-feature, training statistics only
      pad_multiple=128,        # node buckets: one compile per bucket
      # Split every graph's edges over config.mesh (node state replicated,
      # per-node reductions summed across devices), for graphs larger than
      # one device; off = the full-graph step runs on one device.
      edge_sharding=False,
      num_steps=300, checkpoint_every=100, loss_reduction="mean",
      optimizer=optimizer_config(),
      # Ablations trained in the same run, each under its own results prefix
      # (xmjax.train.rrnet_ablations): comma-separated of inter_only,
      # no_instance_graph, no_label_graph, mlp_reranker; "" = none.
      ablations=""))
  return c


def _rrnet_folds() -> ml_collections.ConfigDict:
  """RR-Net over given baseline outputs, leave-one-fold-out (ESC)."""
  c = run_header("rrnet_folds", "rrnet_folds")
  c.data = ml_collections.ConfigDict(dict(
      name="esc50",   # names the class list for label_features="text" (esc50, esc10)
      # The .npz itself, or a directory holding `<name>.npz`.
      dir="",
      num_classes=0,  # 0 = from baseline_probs' width
  ))
  rrnet = _rrnet_classification().rrnet
  del rrnet["ablations"]   # classification only
  rrnet.units = "intra,inter"
  rrnet.pad_multiple = 64
  c.rrnet = rrnet
  return c


def _rrnet_ratings() -> ml_collections.ConfigDict:
  """RR-Net on social ratings (FilmTrust, Ciao, synthetic)."""
  c = run_header("rrnet_ratings", "rrnet_ratings")
  c.data = ml_collections.ConfigDict(dict(
      name="filmtrust",   # filmtrust (librec files), ciao (.mat files), synthetic
      dir="",             # directory of the files
      # Public Ciao / Epinions releases hold ratings off the grid (0) and
      # repeated (user, item) pairs. False: the first off-grid rating stops
      # the run, naming file and row. True: off-grid rows are dropped and a
      # repeated pair keeps its last rating (file order), with the counts logged.
      drop_invalid=False,
      test_fraction=0.2,
      num_splits=5,       # seeded random splits; metrics are their mean
      split_seed=0,
      # data.name="synthetic": make_social_ratings(...) arguments.
      synthetic=ml_collections.ConfigDict(dict(
          num_users=100, num_items=100, rank=4, ratings_per_user=30, trust_per_user=3,
          noise=0.3, seed=0))))
  c.rrnet = ml_collections.ConfigDict(dict(
      # Node attributes: "random" (the paper: node_dim uniform [0, 1) values
      # per user and item) or "ratings" (each user's centred training ratings
      # over the items, each item's over the users; per split).
      node_attributes="random",
      node_dim=128,            # width of the random attributes
      # node_attributes="ratings": held as "sparse" xmjax.nn.SparseRows over
      # the rated pairs (memory linear in the ratings; on a Ciao-sized set
      # 2.4 GB peak and 1.2 s a step against 14.3 GB and 7.1 s, and faster on
      # FilmTrust too: benchmarks/RESULTS.md) or as "dense" users x items
      # matrices (the same numbers up to float summation order).
      attribute_layout="sparse",
      # node_attributes="ratings": the share of the training ratings that are
      # each step's targets and are left out of that step's attributes, as
      # test ratings always are (0: every training rating in them; edge
      # mini-batches: the step's batch is its targets).
      target_fraction=0.0,
      # target_fraction > 0: predictions averaged over this many attribute
      # draws made as a training step makes them (0: one prediction whose
      # attributes hold every training rating).
      prediction_draws=0,
      inter_product=False,     # inter-edge layers also see v_s * v_r (not in the paper)
      # Inter edges: every (user, item) pair ("all_items", the paper's
      # FilmTrust graph), the rated pairs ("rated", the paper's Ciao), or the
      # rated pairs plus `unrated_per_user` seeded unrated items per user
      # ("rated_sampled": message paths like all_items' at a fraction of its edges).
      inter="all_items",
      unrated_per_user=32,
      latent=16, hidden=16, units="intra,inter,intra,inter,inter",
      aggregation="mean", layer_norm=False,
      # Rematerialise RR-Net's blocks in the backward pass (same numbers, about
      # one more forward of compute, a fraction of the activation memory).
      remat=False,
      # > 0: a full inter graph of more edges runs RR-Net's inter-edge blocks
      # in chunks of about this many edges under a rematerialised scan
      # (xmjax.nn.chunked): the same numbers, per-edge hidden activations one
      # chunk at a time. What fits the all-items FilmTrust graph; 0 = never.
      edge_chunk_size=0,
      edge_budget=4_000_000,   # more inter edges than this: edge mini-batches
      edge_batch_size=65_536,  # training ratings per mini-batch step
      num_steps=500, checkpoint_every=100, loss_reduction="mean",
      optimizer=optimizer_config()))
  # The biased matrix-factorisation baseline trained on every split (`mf/`,
  # xmjax.models.baselines.fit_biased_mf): l2 chosen from the grid on a validation part.
  c.mf = ml_collections.ConfigDict(dict(
      rank=8, l2=(1e-3, 1e-2, 1e-1, 1.0), num_steps=500, learning_rate=0.05,
      valid_fraction=0.1))
  return c


def _drsl_retrieval() -> ml_collections.ConfigDict:
  """DRSL: relation network over every image-text pair."""
  c = run_header("drsl", "drsl_retrieval")
  c.mesh = mesh_config()
  c.data = retrieval_data_config(modalities="image,text")
  c.model = ml_collections.ConfigDict(dict(
      image_layers=(1024, 300), text_layers=(1024, 300), relation_hidden=1024,
      fusion="concat", batch_norm=False, block_size=128,
      scorer="relation")) # relation (the paper) | cosine (the encoders' cosine, no relation net)
  c.train = ml_collections.ConfigDict(dict(
      batch_size=100, num_epochs=50, checkpoint_every=500, loss_reduction="sum",
      # Also train, in the same run, the same encoders and loss scored by the
      # cosine of the embeddings (`drsl_cosine/`): what the relation network adds.
      ablation_cosine=False,
      select_on="valid_map",   # valid_map | valid_loss | last: the network evaluated
      optimizer=optimizer_config(name="adam", learning_rate=1e-4, weight_decay=0.0)))
  c.eval = ml_collections.ConfigDict(dict(cca_components=10, map_k=50))
  return c


def _racg_retrieval() -> ml_collections.ConfigDict:
  """RACG: relation-aggregated cross graph over regions and words."""
  c = run_header("racg", "racg_retrieval")
  c.mesh = mesh_config()
  c.data = ml_collections.ConfigDict(dict(
      name="scenes",          # scenes (embedded) | scan (precomp files in `dir`)
      dir="",
      vocab="",               # scan: vocabulary JSON ("" = the *vocab*.json in dir)
      train_split="train",
      eval_split="test",      # MS-COCO: "testall" (5000 images) for 1K and 5K
      coco_folds=False,       # also report the mean over folds of 1000 images ("1k_")
      # Text graph: "spacy" parses POS and dependencies (needs spaCy and
      # en_core_web_sm); "none" falls back to a chain over each sentence with
      # every word linking to regions. Scenes bring their own parse.
      parser="none",
      max_length=64,          # words kept per caption
      scenes=ml_collections.ConfigDict(dict(
          train_pairs=400, test_pairs=50, feature_dim=64, max_objects=4, noise=0.3,
          kind="relational",     # relational | swap (xmjax.data.scenes)
          seed=0))))             # the data's own seed (the model's is config.seed)
  c.model = ml_collections.ConfigDict(dict(
      joint_dim=1024, position_dim=128, word_dim=300, pos_dim=15, num_heads=64,
      temperature=4.0, use_positions=True,
      literal_scale=True,     # eq. 10-11's two 1/n factors as written (False: one)
      text_graph="sparse",    # words' graph: sparse (dependency parse / chain) or dense (all pairs)
      image_block=8,          # training: images per rematerialised block of the B x B scores
      eval_image_block=32, eval_caption_block=128))
  c.train = ml_collections.ConfigDict(dict(
      batch_size=80, num_epochs=30, checkpoint_every=500,
      margin=0.2, aux_weight=0.2, beta=0.7, gamma=0.3,
      ablation_no_cross=False,
      # Baselines trained in the same run on the same encoders, loss and
      # batches, each under its own prefix: comma-separated of vse, scan_t2i.
      baselines="",
      optimizer=optimizer_config(name="adam", learning_rate=2e-4, weight_decay=0.0,
                                       schedule="step", decay_at=(0.5,), decay_factor=0.1)))
  c.eval = ml_collections.ConfigDict(dict(rerank=True, rerank_k1=15))
  return c


def _sdml_retrieval() -> ml_collections.ConfigDict:
  """SDML: per-modality autoencoders into a fixed orthogonal subspace."""
  c = run_header("sdml", "sdml_retrieval")
  c.mesh = mesh_config()
  c.add_modality = ""   # train only this modality against the saved P of --workdir
  # The authors feed the papers' feature files raw; standardising is a choice
  # (sdml_mfeat makes it: its views' scales differ by orders of magnitude).
  c.data = retrieval_data_config(standardize=False)
  c.model = ml_collections.ConfigDict(dict(
      hidden=(1024, 1024), code_dim=512, balance=0.5,
      normalize_decoder=True,   # decoder output L2-normalised, as the authors' Dense_Net
      initializer="pytorch"))   # pytorch (the authors' nn.Linear defaults) | flax
  c.train = ml_collections.ConfigDict(dict(
      batch_size=100,
      num_epochs=200,                   # per modality, in its own epochs (its full batches)
      checkpoint_every=500,
      validate_every_epochs=1,          # each modality's own epochs between validations
      select_on="supervised",           # supervised (the authors': ||P^T h - y||) | loss
      learning_rate=2e-4,               # every modality but those in learning_rate_overrides
      learning_rate_overrides="image=1e-4",
      b1=0.5, b2=0.999))
  c.eval = ml_collections.ConfigDict(dict(cca_components=10, map_k=50))
  return c


_SCHEMAS = {name: globals()[f"_{name}"] for name in (
    "rrnet_classification", "rrnet_folds", "rrnet_ratings", "drsl_retrieval", "racg_retrieval",
    "sdml_retrieval")}
EXPERIMENTS = tuple(_SCHEMAS)


def schema(experiment: str) -> ml_collections.ConfigDict:
  """The locked default config of `experiment`."""
  if experiment not in _SCHEMAS:
    from xmjax.errors import InputError
    raise InputError(f"config.experiment: unknown experiment {experiment!r}; "
                     f"choose one of {sorted(_SCHEMAS)}")
  config = _SCHEMAS[experiment]()
  config.lock()
  return config


def rrnet_classification() -> ml_collections.ConfigDict:
  return schema("rrnet_classification")


def rrnet_folds() -> ml_collections.ConfigDict:
  return schema("rrnet_folds")


def rrnet_ratings() -> ml_collections.ConfigDict:
  return schema("rrnet_ratings")


def drsl_retrieval() -> ml_collections.ConfigDict:
  return schema("drsl_retrieval")


def racg_retrieval() -> ml_collections.ConfigDict:
  return schema("racg_retrieval")


def sdml_retrieval() -> ml_collections.ConfigDict:
  return schema("sdml_retrieval")
