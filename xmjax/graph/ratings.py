"""The graph of RR-Net's rating task (paper IV-C): users and items with
trust links, the inter graph by kind, and node attributes built from ratings.

Attributes are each user's centred ratings over the items (divided by its
count) and each item's over the users, built inside a jitted step from an
`AttributeRatings` (so a step can hold its own targets out of them), dense
or as `xmjax.nn.SparseRows` (memory linear in the ratings).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from xmjax import random_streams
from xmjax.graph.cross_modal import CrossModalGraph, EdgeSet
from xmjax.nn.sparse import SparseRows

__all__ = ["AttributeRatings", "INTER_KINDS", "attributes_from_ratings", "drawn_attribute_ratings",
           "inter_pairs", "num_edge_chunks", "num_inter_edges", "random_attributes",
           "rating_attributes", "rating_edge_ids", "sampled_unrated_pairs", "social_graph",
           "split_attribute_ratings", "with_rating_attributes"]


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
  does not, and measured worse (docs/rrnet.md).

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


def drawn_attribute_ratings(ratings: AttributeRatings, key, share) -> AttributeRatings:
  """`ratings` with each training rating left out of the attributes with
  probability `share`: the attributes a training step sees."""
  kept = jax.random.uniform(key, ratings.weight.shape) >= share
  return ratings._replace(weight=jnp.where(kept, ratings.weight, 0.0))


def sampled_unrated_pairs(data, per_user: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(users, items) int32: for every user, `per_user` items it has not rated
  (all of them if fewer), drawn without replacement from the seed; no
  rating of any split is among them, so they carry messages but no target.
  Host-side, once per run, in memory linear in the ratings (no users x
  items matrix: Ciao-sized catalogues have ~10^5 items)."""
  rng = random_streams.generator(seed, random_streams.UNRATED_ITEMS)
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


# ----------------------------------------------------------------------------
# The social graph: users (intra edges = trust links), items (no intra
# edges), and the inter graph by kind: "all_items" (every pair, FilmTrust),
# "rated" (the rated pairs, Ciao) or "rated_sampled" (the rated pairs, then
# `unrated_per_user` seeded unrated items per user).

INTER_KINDS = ("all_items", "rated", "rated_sampled")


def random_attributes(data, node_dim: int, seed: int):
  """The paper's node attributes: uniform [0, 1), node_dim wide, from the seed."""
  rng = random_streams.generator(seed, random_streams.RANDOM_RATING_ATTRIBUTES)
  users = rng.uniform(size=(data.num_users, node_dim)).astype(np.float32)
  items = rng.uniform(size=(data.num_items, node_dim)).astype(np.float32)
  return users, items


def social_graph(data, users, items) -> CrossModalGraph:
  """Nodes with the given attributes and the trust links as user intra
  edges (sorted by sender); no inter edges yet."""
  order = np.argsort(data.trust[:, 0], kind="stable")
  trust = EdgeSet(jnp.asarray(data.trust[order, 0]), jnp.asarray(data.trust[order, 1]))
  no_edges = EdgeSet(jnp.zeros((0,), jnp.int32), jnp.zeros((0,), jnp.int32))
  return CrossModalGraph(
      nodes1=jnp.asarray(users), nodes2=jnp.asarray(items), intra1=trust, intra2=no_edges,
      inter=no_edges, inter_targets=jnp.zeros((0,), jnp.float32),
      inter_mask=jnp.zeros((0,), bool), node1_mask=jnp.ones((data.num_users,), bool))


def inter_pairs(data, inter: str, unrated_per_user: int = 0,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """(senders, receivers) of the full inter graph of kind `inter`: every
  pair, the rated pairs, or the rated pairs (first, in rating order) then
  the sampled unrated ones."""
  if inter == "all_items":
    return (np.repeat(np.arange(data.num_users, dtype=np.int32), data.num_items),
            np.tile(np.arange(data.num_items, dtype=np.int32), data.num_users))
  if inter == "rated_sampled":
    users, items = sampled_unrated_pairs(data, unrated_per_user, seed)
    return (np.concatenate([data.users, users]).astype(np.int32),
            np.concatenate([data.items, items]).astype(np.int32))
  return data.users, data.items


def num_inter_edges(data, inter: str, unrated_per_user: int = 0) -> int:
  """The inter graph's edge count (at most, for rated_sampled), before building it."""
  if inter == "all_items":
    return data.num_users * data.num_items
  if inter == "rated_sampled":
    return len(data.ratings) + data.num_users * unrated_per_user
  return len(data.ratings)


def rating_edge_ids(data, inter: str) -> np.ndarray:
  """(R,) the inter edge of each rating in the full inter graph."""
  if inter == "all_items":
    return data.users.astype(np.int64) * data.num_items + data.items
  return np.arange(len(data.ratings))


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
