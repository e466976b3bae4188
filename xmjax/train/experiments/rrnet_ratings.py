"""RR-Net for rating prediction on a social network (paper IV-C: FilmTrust, Ciao).

Graph: user nodes (intra edges = trust links) and item nodes (no intra
edges), each with 128 attributes drawn uniform in [0, 1) from the seed (the
paper), or (`rrnet.node_attributes="ratings"`) each user's row and each
item's column of the split's centred training ratings, divided by their
count; inter edges from each user to every item (`rrnet.inter =
"all_items"`, FilmTrust), along the rated pairs (`"rated"`, Ciao), or along
the rated pairs plus `rrnet.unrated_per_user` seeded unrated items per user
(`"rated_sampled"`: unrated message paths as all_items has, at a fraction
of its edges). A full inter graph above `rrnet.edge_chunk_size` edges runs
RR-Net's inter-edge blocks in chunks (xmjax.nn.chunked; same numbers). The
decoder's probability on an inter edge is the rating rescaled to [0, 1]
(soft BCE target); predictions map back to the rating scale. Test ratings
are masked out of the loss and never enter the attributes (their edges
still carry messages when they are inter edges).

With rating attributes a training rating would sit in the attributes of
both ends of the edge that predicts it, which no test rating does: the
network learns to read its target back. `rrnet.target_fraction` closes that
gap: each step a seeded share of the training ratings are the targets and
are left out of the attributes the step builds (on device, inside the
jitted step). Prediction uses every training rating, or
(`rrnet.prediction_draws`) averages over attribute draws made as a training
step makes them: the input distribution the network was trained on.
`rrnet.inter_product` adds the elementwise product of the endpoints to the
inter-edge layers (`xmjax.nn.InterEdgeLayer`; no gain measured with the
shipped settings).

Training is full-graph while the inter graph has at most `rrnet.edge_budget`
edges. Above it, each step is an edge mini-batch: a fixed number of training
ratings (reshuffled every epoch) form that step's inter graph, gathered on
device from their row indices; evaluation runs every test rating in blocks of
the same size under `lax.map`. Either way each step is one compiled program.

The metrics are averaged over `data.num_splits` seeded random train/test
splits; every split is a stage with its own checkpoints, so a killed run
resumes inside the split it was in. results.json: `rrnet/test_mae`,
`rrnet/test_rmse` (mean over splits, plus `_std` and per split), the
baseline that predicts the training mean rating, `mean/test_mae`,
`mean/test_rmse`, and biased matrix factorisation trained on the same
split (`mf/`, `xmjax.train.mf_baseline`; its predictions cached in
`mf/predictions.npz`).
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from xmjax import graph as graph_lib
from xmjax.configs import schemas
from xmjax.data import ratings as ratings_lib
from xmjax.data.synthetic import RATING_GRID, make_social_ratings
from xmjax.errors import InputError
from xmjax.models import RRNet, bce_loss
from xmjax.nn.sparse import SparseRows
from xmjax.models.build import from_config
from xmjax.train import optim, provenance
from xmjax.train.batching import epoch_batch_rows
from xmjax.train.mf_baseline import fit_biased_mf
from xmjax.train.rrnet_stage import check_units
from xmjax.train.runner import Run, Task, TrainingStage, compiled
from xmjax.train.state import TrainState, compute_dtype, create_train_state

log = logging.getLogger("xmjax")



# The splits train one after another, each its own resumable stage, all of
# one config; the MF baseline depends only on the data and its own fields.
STAGES = (provenance.Stage("splits", exclude=("mf.",)),
          provenance.Stage("mf", include=("mf.", "data.", "seed"),
                           outputs=("mf/predictions.npz",)))


def default_config() -> ml_collections.ConfigDict:
  """Every field a rrnet_ratings config may set (the locked schema, xmjax.configs.schemas)."""
  return schemas.schema("rrnet_ratings")


def check_config(config: ml_collections.ConfigDict) -> None:
  """What the field ranges (xmjax.configs.ranges) cannot say."""
  if config.data.name != "synthetic" and not config.data.dir:
    raise InputError(f"config.data.dir: set it to the directory holding the "
                     f"{config.data.name} files")
  check_units(config.rrnet)
  if config.rrnet.prediction_draws and config.rrnet.target_fraction == 0:
    raise InputError(f"config.rrnet.prediction_draws: {config.rrnet.prediction_draws} draws of "
                     f"the training attributes need rrnet.target_fraction > 0 (with every "
                     f"training rating in the attributes there is nothing to draw)")
  if config.rrnet.target_fraction > 0 and config.rrnet.node_attributes != "ratings":
    raise InputError(f"config.rrnet.target_fraction: {config.rrnet.target_fraction} holds "
                     f"training ratings out of the node attributes, which needs "
                     f"rrnet.node_attributes='ratings', not "
                     f"{config.rrnet.node_attributes!r}")


def data_files(config) -> list[str]:
  """The files load_ratings reads (none for generated data): stage provenance."""
  d = config.data
  names = {"filmtrust": ("ratings.txt", "trust.txt"), "ciao": ("rating.mat", "trustnetwork.mat")}
  return [os.path.join(d.dir, n) for n in names.get(d.name, ())]


def load_ratings(config) -> ratings_lib.RatingData:
  d = config.data
  if d.name == "filmtrust":
    return ratings_lib.load_librec(d.dir, drop_invalid=d.drop_invalid)
  if d.name == "ciao":
    return ratings_lib.load_ciao(d.dir, drop_invalid=d.drop_invalid)
  s = d.synthetic
  arrays = make_social_ratings(s.num_users, s.num_items, s.rank, s.ratings_per_user,
                               s.trust_per_user, s.noise, s.seed)
  r, t = arrays["ratings"], arrays["trust"]
  return ratings_lib.RatingData(
      users=r[:, 0].astype(np.int32), items=r[:, 1].astype(np.int32),
      ratings=r[:, 2].astype(np.float32), trust=t.astype(np.int32), num_users=s.num_users,
      num_items=s.num_items, grid=tuple(float(g) for g in RATING_GRID))


def random_splits(num_ratings: int, test_fraction: float, num_splits: int,
                  seed: int) -> list[np.ndarray]:
  """Per split, a boolean (R,) test mask: a seeded random test_fraction of the ratings."""
  masks = []
  for split in range(num_splits):
    order = np.random.default_rng([seed, split]).permutation(num_ratings)
    mask = np.zeros(num_ratings, bool)
    mask[order[:max(1, int(round(test_fraction * num_ratings)))]] = True
    masks.append(mask)
  return masks


# ----------------------------------------------------------------------------
# Graphs.


def random_attributes(config, data):
  """The paper's node attributes: uniform [0, 1), node_dim wide, from the seed."""
  rng = np.random.default_rng([config.seed, 5])
  users = rng.uniform(size=(data.num_users, config.rrnet.node_dim)).astype(np.float32)
  items = rng.uniform(size=(data.num_items, config.rrnet.node_dim)).astype(np.float32)
  return users, items


class AttributeRatings(NamedTuple):
  """The ratings node attributes are built from (a pytree; every field (R,)):
  `centred` ratings (minus the training mean) and the `weight` (1 or 0) of
  each in the attributes."""
  users: jax.Array
  items: jax.Array
  centred: jax.Array
  weight: jax.Array


def attributes_from_ratings(ratings: AttributeRatings, num_users: int, num_items: int,
                            layout: str = "dense"):
  """Each user's weighted centred ratings over the items (0 where unrated),
  divided by its count of weighted ratings, and each item's over the users.
  Dividing by the count keeps a row's expectation (and so the first layer's
  output: a mean of per-item columns weighted by the ratings) the same when a
  share of the ratings is held out (rrnet.target_fraction); 1/sqrt(count)
  does not, and measured worse (README).

  layout="dense": (users x items) and (items x users) arrays. "sparse": the
  same matrices as `xmjax.nn.SparseRows` over the rated pairs (memory linear
  in the ratings; RR-Net's first layers read them as segment sums): a
  Ciao-sized catalogue (~7,400 x 99,000) would be 2.9 GB per dense matrix."""
  user_count = jnp.zeros((num_users,), jnp.float32).at[ratings.users].add(ratings.weight)
  item_count = jnp.zeros((num_items,), jnp.float32).at[ratings.items].add(ratings.weight)
  weighted = ratings.centred * ratings.weight
  if layout == "sparse":
    return (SparseRows.from_coo(ratings.users, ratings.items,
                                weighted / jnp.maximum(user_count, 1.0)[ratings.users],
                                (num_users, num_items)),
            SparseRows.from_coo(ratings.items, ratings.users,
                                weighted / jnp.maximum(item_count, 1.0)[ratings.items],
                                (num_items, num_users)))
  if layout != "dense":
    raise ValueError(f"attribute layout: expected 'dense' or 'sparse', got {layout!r}")
  matrix = jnp.zeros((num_users, num_items), jnp.float32).at[ratings.users, ratings.items].add(
      weighted)
  return (matrix / jnp.maximum(user_count, 1.0)[:, None],
          matrix.T / jnp.maximum(item_count, 1.0)[:, None])


def split_attribute_ratings(data, train_rows) -> AttributeRatings:
  """Every rating centred on the split's training mean; weight 1 on the
  training ratings, 0 on the test ratings."""
  weight = np.zeros(len(data.ratings), np.float32)
  weight[train_rows] = 1.0
  centred = data.ratings - data.ratings[train_rows].mean()
  return AttributeRatings(jnp.asarray(data.users), jnp.asarray(data.items),
                          jnp.asarray(centred, jnp.float32), jnp.asarray(weight))


def rating_attributes(data, train_rows):
  """Each user's training ratings over the items (centred on the training
  mean, 0 where unrated, divided by the user's count), and each item's over
  the users: the split's training ratings only. NumPy (users x items, items x users)."""
  users, items = attributes_from_ratings(split_attribute_ratings(data, train_rows),
                                         data.num_users, data.num_items)
  return np.asarray(users), np.asarray(items)


def with_rating_attributes(graph, ratings: AttributeRatings, layout: str | None = None):
  """`graph` with node attributes built from `ratings`, in `layout` (default:
  that of graph's attributes, so a step keeps the layout its split graph has)."""
  if layout is None:
    layout = "sparse" if isinstance(graph.nodes1, SparseRows) else "dense"
  users, items = attributes_from_ratings(ratings, graph.nodes1.shape[0], graph.nodes2.shape[0],
                                         layout)
  return graph._replace(nodes1=users, nodes2=items)


def target_rows(seed: tuple[int, ...], rows: np.ndarray, fraction: float, step: int) -> np.ndarray:
  """The seeded `fraction` of `rows` that are step `step`'s targets (held out
  of its attributes): a pure function of the step, so a resumed run draws the same."""
  rng = np.random.default_rng([*seed, step])
  return rows[rng.random(len(rows)) < fraction]


@functools.partial(jax.jit, static_argnames="num_edges")
def _held_out_targets(edge_ids, train_weight, is_target, num_edges: int):
  """A step's loss mask over the inter edges (its targets) and the attribute
  weights of every rating (the training ratings that are not its targets)."""
  mask = jnp.zeros((num_edges,), bool).at[edge_ids].set(is_target)
  return mask, jnp.where(is_target, 0.0, train_weight)


def base_graph(config, data: ratings_lib.RatingData) -> graph_lib.CrossModalGraph:
  """Nodes and intra edges; inter edges are added per mode."""
  users, items = random_attributes(config, data)
  order = np.argsort(data.trust[:, 0], kind="stable")
  trust = graph_lib.EdgeSet(jnp.asarray(data.trust[order, 0]), jnp.asarray(data.trust[order, 1]))
  no_edges = graph_lib.EdgeSet(jnp.zeros((0,), jnp.int32), jnp.zeros((0,), jnp.int32))
  return graph_lib.CrossModalGraph(
      nodes1=jnp.asarray(users), nodes2=jnp.asarray(items), intra1=trust, intra2=no_edges,
      inter=no_edges, inter_targets=jnp.zeros((0,), jnp.float32),
      inter_mask=jnp.zeros((0,), bool), node1_mask=jnp.ones((data.num_users,), bool))


def sampled_unrated_pairs(data, per_user: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(users, items) int32: for every user, `per_user` items it has not rated
  (all of them if fewer), drawn without replacement from the seed; no
  rating of any split is among them, so they carry messages but no target.
  Host-side, once per run, in memory linear in the ratings (no users x
  items matrix: Ciao-sized catalogues have ~10^5 items)."""
  rng = np.random.default_rng([seed, 11])
  order = np.argsort(data.users, kind="stable")
  starts = np.searchsorted(data.users[order], np.arange(data.num_users + 1))
  users, items = [], []
  for user in range(data.num_users):
    rated = data.items[order[starts[user]:starts[user + 1]]]
    take = min(per_user, data.num_items - len(np.unique(rated)))
    if take <= 0:
      continue
    size = min(data.num_items, take + len(rated))
    candidates = rng.choice(data.num_items, size=size, replace=False)
    chosen = candidates[~np.isin(candidates, rated)][:take]  # random order kept
    users.append(np.full(len(chosen), user, np.int32))
    items.append(chosen.astype(np.int32))
  if not users:
    return np.zeros((0,), np.int32), np.zeros((0,), np.int32)
  return np.concatenate(users), np.concatenate(items)


def inter_pairs(config, data) -> tuple[np.ndarray, np.ndarray]:
  """(senders, receivers) of the full inter graph: every pair, the rated
  pairs, or the rated pairs (first, in rating order) then the sampled unrated ones."""
  r = config.rrnet
  if r.inter == "all_items":
    return (np.repeat(np.arange(data.num_users, dtype=np.int32), data.num_items),
            np.tile(np.arange(data.num_items, dtype=np.int32), data.num_users))
  if r.inter == "rated_sampled":
    users, items = sampled_unrated_pairs(data, r.unrated_per_user, config.seed)
    return (np.concatenate([data.users, users]).astype(np.int32),
            np.concatenate([data.items, items]).astype(np.int32))
  return data.users, data.items


def num_inter_edges(config, data) -> int:
  if config.rrnet.inter == "all_items":
    return data.num_users * data.num_items
  if config.rrnet.inter == "rated_sampled":
    return len(data.ratings) + data.num_users * config.rrnet.unrated_per_user  # at most
  return len(data.ratings)


def num_edge_chunks(num_edges: int, chunk_size: int) -> int:
  """How many chunks RR-Net's inter-edge blocks run in (0: unchunked): about
  num_edges / chunk_size, rounded up to a divisor of num_edges when one is
  near (no padding copy of the edge arrays)."""
  if not chunk_size or num_edges <= chunk_size:
    return 0
  least = -(-num_edges // chunk_size)
  for count in range(least, 2 * least + 1):
    if num_edges % count == 0:
      return count
  return least


def rating_edge_ids(config, data) -> np.ndarray:
  """(R,) the inter edge of each rating in the full inter graph."""
  if config.rrnet.inter == "all_items":
    return data.users.astype(np.int64) * data.num_items + data.items
  return np.arange(len(data.ratings))


def full_graph(config, data, graph) -> graph_lib.CrossModalGraph:
  senders, receivers = inter_pairs(config, data)
  inter = graph_lib.EdgeSet(jnp.asarray(senders), jnp.asarray(receivers))
  return graph._replace(inter=inter)


def to_unit(ratings, rating_range):
  low, high = rating_range
  return (ratings - low) / (high - low)


def from_unit(probs, rating_range):
  low, high = rating_range
  return low + probs * (high - low)


# ----------------------------------------------------------------------------
# Steps.


def full_graph_step(state: TrainState, graph, targets, train_mask, attribute_ratings=None,
                    reduction: str = "mean"):
  """One full-graph step; the loss covers `train_mask` (the training ratings,
  or the step's targets). With `attribute_ratings` the node attributes are
  built from them inside the step (the step's other training ratings)."""
  if attribute_ratings is not None:
    graph = with_rating_attributes(graph, attribute_ratings)

  def loss_fn(params):
    logits = state.apply_fn({"params": params}, graph)
    return bce_loss(logits, targets, train_mask, reduction)

  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  return state.apply_gradients(grads=grads), {"loss": loss}


def _with_inter_edges(graph, rows, users, items):
  """`graph` whose inter edges are the ratings `rows` (gathered on device)."""
  return graph._replace(inter=graph_lib.EdgeSet(users[rows], items[rows]))


def edge_batch_step(state: TrainState, graph, users, items, unit_ratings, rows,
                    attribute_ratings=None, reduction: str = "mean"):
  """One step on an edge mini-batch: the ratings `rows` are the inter graph.
  With `attribute_ratings` (rrnet.target_fraction > 0) the node attributes
  are built inside the step from the training ratings other than `rows`."""
  if attribute_ratings is not None:
    held_out = attribute_ratings.weight.at[rows].set(0.0)
    graph = with_rating_attributes(graph, attribute_ratings._replace(weight=held_out))
  batch_graph = _with_inter_edges(graph, rows, users, items)
  targets = unit_ratings[rows]
  mask = jnp.ones(rows.shape, bool)

  def loss_fn(params):
    return bce_loss(state.apply_fn({"params": params}, batch_graph), targets, mask, reduction)

  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  return state.apply_gradients(grads=grads), {"loss": loss}


def full_graph_probs(state: TrainState, graph, edge_ids):
  """Predicted probability (rescaled rating) of the inter edges `edge_ids`."""
  return jax.nn.sigmoid(state.apply_fn({"params": state.params}, graph))[edge_ids]


def edge_batch_probs(state: TrainState, graph, users, items, rows, block: int):
  """Probabilities of the ratings `rows`, `block` at a time (each block one inter graph)."""
  n = rows.shape[0]
  blocks = jnp.pad(rows, (0, -n % block)).reshape(-1, block)

  def one_block(block_rows):
    return jax.nn.sigmoid(state.apply_fn({"params": state.params},
                                         _with_inter_edges(graph, block_rows, users, items)))

  return jax.lax.map(one_block, blocks).reshape(-1)[:n]


def drawn_attribute_ratings(ratings: AttributeRatings, key, share) -> AttributeRatings:
  """`ratings` with each training rating left out of the attributes with
  probability `share`: the attributes a training step sees."""
  kept = jax.random.uniform(key, ratings.weight.shape) >= share
  return ratings._replace(weight=jnp.where(kept, ratings.weight, 0.0))


def probs_over_draws(state, graph, attribute_ratings: AttributeRatings, key, share, *args,
                     probs_fn, draws: int, block: int | None = None):
  """`probs_fn(state, graph, *args[, block=block])` averaged over `draws` graphs
  whose attributes are drawn as in training (drawn_attribute_ratings), one
  after another under `lax.map` (one graph's activations live at a time).

  Trained on attributes built from a held-out share of the ratings, the
  network sees a different input distribution when prediction uses every
  rating; averaging over the training distribution is the prediction the
  training objective fits (the same reasoning as Monte Carlo dropout)."""
  static = {} if block is None else {"block": block}

  def one_draw(draw_key):
    drawn = with_rating_attributes(graph, drawn_attribute_ratings(attribute_ratings, draw_key,
                                                                  share))
    return probs_fn(state, drawn, *args, **static)

  return jax.lax.map(one_draw, jax.random.split(key, draws)).mean(0)


# ----------------------------------------------------------------------------


class Problem:
  """The data, graph and mode of one run, shared by its splits."""

  def __init__(self, config):
    check_config(config)
    self.config = config
    self.data = load_ratings(config)
    if len(self.data.ratings) < 2:
      raise InputError(f"config.data: {len(self.data.ratings)} ratings; need at least 2")
    self.test_masks = random_splits(len(self.data.ratings), config.data.test_fraction,
                                    config.data.num_splits, config.data.split_seed)
    self.unit_ratings = to_unit(self.data.ratings, self.data.rating_range).astype(np.float32)
    self.graph = base_graph(config, self.data)
    # (split, its graph, its AttributeRatings) under node_attributes="ratings"
    self._split = (None, None, None)
    self.minibatch = num_inter_edges(config, self.data) > config.rrnet.edge_budget
    if self.minibatch:
      self.users = jnp.asarray(self.data.users)
      self.items = jnp.asarray(self.data.items)
    self.edge_chunks = 0
    if not self.minibatch:
      self.graph = full_graph(config, self.data, self.graph)
      self.edge_ids = rating_edge_ids(config, self.data)
      self.edge_chunks = num_edge_chunks(int(self.graph.inter.senders.shape[0]),
                                     config.rrnet.edge_chunk_size)
    log.info("%d users, %d items, %d ratings, %d trust links; %s training%s",
             self.data.num_users, self.data.num_items, len(self.data.ratings),
             len(self.data.trust), "edge mini-batch" if self.minibatch else "full-graph",
             f", inter edges in {self.edge_chunks} chunks" if self.edge_chunks else "")

  def split_graph(self, split: int):
    """The graph of one split. With `rrnet.node_attributes="ratings"` its
    node attributes are the split's training ratings (rating_attributes);
    test ratings never enter them."""
    if self.config.rrnet.node_attributes == "random":
      return self.graph
    return self._split_arrays(split)[0]

  def attribute_ratings(self, split: int) -> AttributeRatings:
    """The split's ratings as attributes see them (split_attribute_ratings)."""
    return self._split_arrays(split)[1]

  def _split_arrays(self, split: int):
    # Init, training and prediction of a split all ask for them; the splits
    # run one after another, so one copy of the attributes is kept, not five.
    if self._split[0] != split:
      train_rows = np.flatnonzero(~self.test_masks[split])
      ratings = split_attribute_ratings(self.data, train_rows)
      graph = with_rating_attributes(self.graph, ratings, self.config.rrnet.attribute_layout)
      self._split = (split, graph, ratings)
    return self._split[1:]

  def batch_size(self, split: int) -> int:
    return int(min(self.config.rrnet.edge_batch_size, (~self.test_masks[split]).sum()))

  def initial_state(self, split: int) -> TrainState:
    r = self.config.rrnet
    model = from_config(RRNet, r, fixed_degree=False, dtype=compute_dtype(self.config.dtype),
                        edge_chunks=self.edge_chunks)
    graph = self.split_graph(split)
    if self.minibatch:
      graph = _with_inter_edges(graph, jnp.zeros((1,), jnp.int32), self.users, self.items)
    key = jax.random.fold_in(jax.random.key(self.config.seed), 100 + split)
    params = model.init(key, graph)["params"]
    return create_train_state(model.apply, params, optim.make_optimizer(r.optimizer, r.num_steps))

  def stage(self, split: int) -> TrainingStage:
    """RR-Net on one split's training ratings: full-graph, or edge mini-batches
    reshuffled every epoch."""
    r = self.config.rrnet
    train_rows = np.flatnonzero(~self.test_masks[split])
    graph = self.split_graph(split)
    # rrnet.target_fraction > 0: each step's targets are left out of the node
    # attributes it sees, as every test rating is (see check_config).
    attribute_ratings = self.attribute_ratings(split) if r.target_fraction > 0 else None
    if self.minibatch:
      size = self.batch_size(split)
      unit = jnp.asarray(self.unit_ratings)

      def batches(step):
        rows = epoch_batch_rows((self.config.seed, split), train_rows, size, step)
        return (graph, self.users, self.items, unit, jnp.asarray(rows.astype(np.int32)),
                attribute_ratings)

      step_fn = edge_batch_step
    else:
      num_edges = self.graph.inter.senders.shape[0]
      targets = np.zeros(num_edges, np.float32)
      mask = np.zeros(num_edges, bool)
      targets[self.edge_ids[train_rows]] = self.unit_ratings[train_rows]
      mask[self.edge_ids[train_rows]] = True
      targets, mask = jnp.asarray(targets), jnp.asarray(mask)
      if attribute_ratings is None:
        batches = lambda step: (graph, targets, mask, None)
      else:
        edge_ids = jnp.asarray(self.edge_ids)

        def batches(step):
          # Only the (R,) target flags cross to the device; the (E,) loss mask
          # and the attribute weights are made there.
          is_target = np.zeros(len(self.data.ratings), bool)
          is_target[target_rows((self.config.seed, split, 7), train_rows, r.target_fraction,
                                step)] = True
          step_mask, weight = _held_out_targets(edge_ids, attribute_ratings.weight,
                                                jnp.asarray(is_target), num_edges)
          return graph, targets, step_mask, attribute_ratings._replace(weight=weight)
      step_fn = full_graph_step
    return TrainingStage(
        name=f"split{split}", init=lambda: self.initial_state(split), step=step_fn,
        batches=batches, num_steps=r.num_steps, checkpoint_every=r.checkpoint_every,
        static={"reduction": r.loss_reduction})

  def held_out_share(self, split: int) -> float:
    """The share of the training ratings a training step leaves out of its
    attributes (rrnet.target_fraction, or one edge mini-batch)."""
    if self.minibatch:
      return self.batch_size(split) / int((~self.test_masks[split]).sum())
    return float(self.config.rrnet.target_fraction)

  def predict(self, state, split) -> np.ndarray:
    """Predicted ratings (original scale) of the split's test ratings, every
    one. With `rrnet.prediction_draws` the probabilities are averaged over
    that many attribute draws made as in training (probs_over_draws); else
    the attributes hold every training rating."""
    rows = np.flatnonzero(self.test_masks[split])
    if self.minibatch:
      probs_fn, static = edge_batch_probs, {"block": self.batch_size(split)}
      args = (self.users, self.items, jnp.asarray(rows, jnp.int32))
    else:
      probs_fn, static, args = full_graph_probs, {}, (jnp.asarray(self.edge_ids[rows]),)
    draws = self.config.rrnet.prediction_draws
    if draws:
      key = jax.random.fold_in(jax.random.key(self.config.seed), 200 + split)
      probs = compiled(probs_over_draws, probs_fn=probs_fn, draws=draws, **static)(
          state, self.split_graph(split), self.attribute_ratings(split), key,
          self.held_out_share(split), *args)
    else:
      probs = compiled(probs_fn, **static)(state, self.split_graph(split), *args)
    return from_unit(np.asarray(probs, np.float64), self.data.rating_range)

  def mf_predictions(self, split) -> dict[str, np.ndarray]:
    """Biased MF trained on the split's training ratings: its test predictions
    and the chosen l2."""
    m, d = self.config.mf, self.data
    train_rows = ~self.test_masks[split]
    predict, l2, _ = fit_biased_mf(
        d.users[train_rows], d.items[train_rows], d.ratings[train_rows],
        num_users=d.num_users, num_items=d.num_items, rating_range=d.rating_range,
        rank=m.rank, l2_grid=tuple(m.l2), num_steps=m.num_steps,
        learning_rate=m.learning_rate, valid_fraction=m.valid_fraction,
        seed=self.config.seed * 1000 + split)
    test = self.test_masks[split]
    return {"predicted": predict(d.users[test], d.items[test]), "l2": np.float64(l2)}

  def split_metrics(self, state, split, mf: dict[str, np.ndarray]) -> dict[str, float]:
    test = self.test_masks[split]
    truth = self.data.ratings[test].astype(np.float64)
    mean = float(self.data.ratings[~test].mean())
    out = {"num_test_ratings": int(test.sum())}
    for name, predicted in (("rrnet", self.predict(state, split)), ("mf", mf["predicted"]),
                            ("mean", np.full_like(truth, mean))):
      out[f"{name}/test_mae"] = float(np.abs(predicted - truth).mean())
      out[f"{name}/test_rmse"] = float(np.sqrt(((predicted - truth) ** 2).mean()))
    return out


def train(run: Run, problem: Problem):
  """The splits one after another, each its own resumable stage; then the
  MF baseline of every split (cached)."""
  splits = range(run.config.data.num_splits)
  with run.timed("train"):
    states = [run.train(problem.stage(split)) for split in splits]
  with run.timed("mf"):
    def fit_all():
      arrays = {}
      for split in splits:
        arrays.update({f"split{split}_{k}": v for k, v in problem.mf_predictions(split).items()})
      return arrays
    cached = run.cached("mf/predictions.npz", fit_all)
  mf = [{k: cached[f"split{split}_{k}"] for k in ("predicted", "l2")} for split in splits]
  return states, mf


def results(run: Run, problem: Problem, trained) -> dict[str, Any]:
  """RR-Net's, MF's and the training mean's test MAE and RMSE: mean, std and per split."""
  states, mf = trained
  per_split = [problem.split_metrics(state, split, mf[split])
               for split, state in enumerate(states)]
  out = {"training": "edge_minibatch" if problem.minibatch else "full_graph",
         "num_test_ratings": sum(m["num_test_ratings"] for m in per_split)}
  for split, fitted in enumerate(mf):
    out[f"mf/l2_split{split}"] = float(fitted["l2"])
  for key in ("rrnet/test_mae", "rrnet/test_rmse", "mf/test_mae", "mf/test_rmse",
              "mean/test_mae", "mean/test_rmse"):
    values = np.array([m[key] for m in per_split])
    out[key] = float(values.mean())
    out[f"{key}_std"] = float(values.std())
    for split, value in enumerate(values):
      out[f"{key}_split{split}"] = float(value)
  return out


TASK = Task(name="rrnet_ratings", prepare=Problem, train=train, results=results, stages=STAGES,
            inputs=lambda config: {"splits": data_files(config), "mf": data_files(config)})
