"""Run in a subprocess with 8 forced host devices: the pair blocks split
their rows over the devices under Explicit and Auto mesh axes. For each
block and mesh kind: the largest difference from the single-device result,
and the trip counts of the compiled program's loops (per device), beside
the single-device program's. Prints one JSON line.

    sharding_check.py
"""

import json
import os
import re
import sys

assert "--xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", "")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P  # noqa: E402

from conftest import load_config, set_fields  # noqa: E402
from xmjax.graph import knn_graph  # noqa: E402
from xmjax.models import DRSL  # noqa: E402
from xmjax.nn import RelationNetwork  # noqa: E402

assert jax.local_device_count() == 8, jax.devices()


def trip_counts(jitted, *args) -> list[int]:
  """Known trip counts of every loop in the compiled (per-device) program."""
  text = jitted.lower(*args).compile().as_text()
  return sorted(int(n) for n in re.findall(r'known_trip_count":\{"n":"(\d+)"', text))


def max_difference(x, y) -> float:
  return max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
             for a, b in zip(jax.tree.leaves(x), jax.tree.leaves(y)))


report = {}
rng = np.random.default_rng(0)
a = jnp.asarray(rng.normal(size=(64, 6)), jnp.float32)
b = jnp.asarray(rng.normal(size=(40, 6)), jnp.float32)
net = RelationNetwork(hidden=16, block_size=4)
params = net.init(jax.random.key(0), a, b)
drsl = DRSL(image_layers=(12, 8), text_layers=(10, 8), relation_hidden=16, block_size=4)
drsl_params = drsl.init(jax.random.key(1), a, b)
loss = lambda model, p: lambda x, y: model.apply(p, x, y).sum()

blocks = {
    "relation": (lambda m: jax.jit(m.apply), lambda m: jax.jit(jax.grad(
        lambda p, x, y: m.apply(p, x, y).sum())), net, params),
    "drsl": (lambda m: jax.jit(m.apply), lambda m: jax.jit(jax.grad(
        lambda p, x, y: m.apply(p, x, y).sum())), drsl, drsl_params),
}
for name, (forward, gradient, model, p) in blocks.items():
  single = forward(model)(p, a, b), gradient(model)(p, a, b)
  report[f"{name}/single_trips"] = trip_counts(forward(model), p, a, b)
  for kind in (AxisType.Explicit, AxisType.Auto):
    mesh = jax.make_mesh((8,), ("data",), axis_types=(kind,))
    with jax.set_mesh(mesh):
      a_rows = jax.device_put(a, NamedSharding(mesh, P("data")))
      # Explicit axes: found from the operand's type; Auto axes: asked for.
      sharded = model if kind == AxisType.Explicit else model.clone(row_axis="data")
      got = forward(sharded)(p, a_rows, b), gradient(sharded)(p, a_rows, b)
      report[f"{name}/{kind.name}/forward"] = max_difference(got[0], single[0])
      report[f"{name}/{kind.name}/grad"] = max_difference(got[1], single[1])
      report[f"{name}/{kind.name}/trips"] = trip_counts(forward(sharded), p, a_rows, b)

x = jnp.asarray(rng.normal(size=(96, 5)), jnp.float32)
search = lambda axis: jax.jit(lambda v: knn_graph(v, 4, row_block=4, col_block=32, row_axis=axis))
single = search(None)(x)
report["knn/single_trips"] = trip_counts(search(None), x)
for kind in (AxisType.Explicit, AxisType.Auto):
  mesh = jax.make_mesh((8,), ("data",), axis_types=(kind,))
  with jax.set_mesh(mesh):
    rows = jax.device_put(x, NamedSharding(mesh, P("data")))
    axis = None if kind == AxisType.Explicit else "data"
    got = search(axis)(rows)
    report[f"knn/{kind.name}/forward"] = max_difference(got, single)
    report[f"knn/{kind.name}/trips"] = trip_counts(search(axis), rows)

# The DRSL data-parallel training step as the runner builds it (Auto axes).
# The dot tile reduction: the chunked one adds a loop over hidden chunks per
# tile, whose trip count would blur the row-tile counts the test reads (the
# chunked scorer's own split is checked above, as the CPU default).
from xmjax.train.experiments import drsl_retrieval  # noqa: E402
from xmjax.train.runner import compiled, place_stage  # noqa: E402
config = set_fields(load_config("drsl_mfeat"), **{
    "train.num_epochs": 1, "train.batch_size": 64, "model.block_size": 8,
    "model.tile_reduction": "dot"})
prepared = drsl_retrieval.prepare(config)
for devices in (1, 8):
  config.mesh.data = devices
  stage = drsl_retrieval.drsl_stage(config, prepared.data, prepared.image_role,
                                    prepared.text_role)
  step = compiled(stage.step, **stage.static)
  init, batches, data = place_stage(config, stage)
  state, batch = init(), (*data, *batches(0))
  report[f"drsl_step/{devices}/trips"] = trip_counts(
      jax.jit(lambda s, *b: stage.step(s, *b, **stage.static)), state, *batch)
  _, metrics = step(state, *batch)
  report[f"drsl_step/{devices}/loss"] = float(metrics["loss"])
print(json.dumps(report))
