"""Run in a subprocess with 8 forced host devices: each sharded run must equal
the single-device run (to float32 round-off), and every stage's state spans
the devices it should. Prints one JSON line.

    multidevice_check.py WORKDIR [NAME ...]   (default: every check)
"""

import json
import os
import sys

assert "--xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", "")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from conftest import load_config, set_fields  # noqa: E402
from xmjax.train import train_and_evaluate  # noqa: E402

assert jax.local_device_count() == 8, jax.devices()
workdir = sys.argv[1]
configs = {
    # BatchNorm over the global batch: sharding must not change the statistics
    # (the three-block BatchNorm CNN: the same question as ResNet18, a third of
    # the compile).
    "cifar_batchnorm": set_fields(load_config("rrnet_cifar"), **{
        "data.fake_examples": 32, "baseline.arch": "spec_cnn", "baseline.width": 0.125,
        "baseline.num_epochs": 2, "baseline.batch_size": 16, "baseline.eval_batch_size": 32,
        "rrnet.k1": 5, "rrnet.num_steps": 3, "rrnet.pad_multiple": 32,
        # RR-Net's full-graph step with the graph's edges split over the devices.
        "rrnet.edge_sharding": True}),
    "racg": set_fields(load_config("racg_scenes"), **{
        "data.scenes.train_pairs": 16, "data.scenes.test_pairs": 4, "data.scenes.feature_dim": 16,
        "model.joint_dim": 32, "model.position_dim": 8, "model.word_dim": 16, "model.num_heads": 4,
        "model.image_block": 4, "train.batch_size": 16, "train.num_epochs": 1,
        "train.ablation_no_cross": False, "train.baselines": ""}),
    "drsl": set_fields(load_config("drsl_mfeat"), **{"train.num_epochs": 1, "train.batch_size": 96}),
    "sdml": set_fields(load_config("sdml_mfeat"), **{
        "train.num_epochs": 1, "train.batch_size": 96, "data.modalities": "pix,fou,mor",
        "model.hidden": (64, 64), "model.code_dim": 16}),
    # Tasks with no placement code of their own: the runner makes them data
    # parallel (VSE's rows; the ratings' edge mini-batches split by inter edge).
    "vse": set_fields(load_config("vse_mfeat"), **{"train.num_epochs": 1, "train.batch_size": 96}),
    "ratings_edge_batches": set_fields(load_config("rrnet_ratings_demo"), **{
        "data.num_splits": 1, "rrnet.num_steps": 4, "rrnet.edge_batch_size": 256,
        "rrnet.prediction_draws": 0, "rrnet.edge_budget": 1000, "mf.num_steps": 20}),
}
report = {}
# The devices each trained stage's state spans at its last step, per check
# and device count: a stage left on one device of eight shows up here.
spans = {}
import time
names = sys.argv[2:] or list(configs)
for name in names:
  config = configs[name]
  start = time.time()
  results = {}
  for devices in (1, 8):
    config.mesh.data = devices
    seen = spans.setdefault(f"{name}_{devices}", {})
    hook = lambda stage, step, state, seen=seen: seen.__setitem__(
        stage, len(jax.tree.leaves(state)[0].sharding.device_set))
    results[devices] = train_and_evaluate(config, os.path.join(workdir, f"{name}_{devices}"),
                                          hooks=[hook])
  diffs = {k: abs(results[1][k] - results[8][k]) for k in results[1]
           if isinstance(results[1][k], float)}
  if name == "racg":  # the whole test similarity matrix, not only the recalls
    sims = [np.load(os.path.join(workdir, f"racg_{d}", "racg", "similarity.npy")) for d in (1, 8)]
    diffs["similarity"] = float(np.abs(sims[0] - sims[1]).max())
  report[name] = max(diffs.values())
  print(name, round(time.time() - start, 1), file=sys.stderr)  # where the test's time goes
errors = {}
if "vse" in names:   # a batch that does not split over the mesh: a clear error, before a step
  from xmjax.errors import InputError
  config = set_fields(configs["vse"], **{"train.batch_size": 100, "mesh.data": 8})
  try:
    train_and_evaluate(config, os.path.join(workdir, "vse_batch_100"))
  except InputError as error:
    errors["vse_batch_100"] = str(error)
print(json.dumps({"max_difference": report, "devices": spans, "errors": errors}))
