"""Named random streams: every random draw a run makes comes from its seed
and one stream named here.

A stream is a number mixed into the seed: `generator(seed, STREAM)` is
numpy's `default_rng([seed, STREAM])`, `key(seed, STREAM)` is JAX's
`fold_in(key(seed), STREAM)`, and a batch order is
`batching.epoch_batch_rows((seed, STREAM), ...)` (an epoch's permutation
from `default_rng([seed, STREAM, epoch])`). Naming them makes two things
visible that bare numbers hid: which draws are independent of which, and
that a stream's number is part of every result drawn from it (change one
and those results change). The numbers are the ones the library has
always used, so results are what they were.

Numpy generators and JAX keys are separate generators, and seed lists of
different lengths give unrelated numpy streams, so a number may serve each
kind once. Within a kind, 11 serves three purposes, and two of them meet in
one run: RR-Net on ratings samples unrated items from (seed, 11), and its
biased MF picks validation ratings from (seed * 1000 + split, 11), the same
stream when seed and split are both 0. The draws pick unrelated things
(items per user, rating rows), so nothing is biased, but they are not
independent; the numbers stay so that published results stay. A new stream
takes a number no name here has.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["generator", "key", "modality_stream",
           # JAX keys
           "BASELINE_INIT", "RRNET_INIT", "AUGMENT", "DRSL_INIT", "RACG_INIT",
           "RATING_INIT", "RATING_PREDICTION",
           # numpy generators
           "CLASS_NODE_FEATURES", "RANDOM_RATING_ATTRIBUTES", "SDML_PROJECTION",
           "UNRATED_ITEMS", "CCA_PAIRS", "MF_VALIDATION", "SCENE_VOCABULARY", "SWAP_SCENES",
           "RELATIONAL_SCENES",
           # batch orders and per-step draws
           "BASELINE_BATCHES", "DRSL_IMAGE_BATCHES", "DRSL_TEXT_BATCHES", "VSE_BATCHES",
           "RACG_BATCHES", "RATING_TARGETS"]

# JAX keys: key(config.seed, ...).
BASELINE_INIT = 1        # the CNN/MLP baseline's parameters
RRNET_INIT = 2           # RR-Net's parameters (every fold's, split from this key)
AUGMENT = 4              # the baseline's crops and flips (folded with the step)
DRSL_INIT = 5            # DRSL's encoders and relation network
RACG_INIT = 7            # RACG's parameters
RATING_INIT = 100        # + split: RR-Net on ratings, one initialisation per split
RATING_PREDICTION = 200  # + split: the test prediction's attribute draws

# Numpy generators: generator(seed, ...).
CLASS_NODE_FEATURES = 3        # rrnet.label_features = "random"
RANDOM_RATING_ATTRIBUTES = 5   # rrnet.node_attributes = "random" (the paper's)
SDML_PROJECTION = 7            # SDML's fixed orthogonal common subspace
UNRATED_ITEMS = 11             # the unrated items each user is linked to (rated_sampled)
CCA_PAIRS = 11                 # same-class pairs for CCA on unpaired modalities
MF_VALIDATION = 11             # biased MF's validation ratings (seed * 1000 + split)
SCENE_VOCABULARY = 17          # synthetic scenes' shape/colour/size vectors (vocab seed)
SWAP_SCENES = 18               # synthetic scenes, kind "swap"
RELATIONAL_SCENES = 19         # synthetic scenes, kind "relational"

# Batch orders, (seed, STREAM) for batching.epoch_batch_rows; per-step draws.
BASELINE_BATCHES = 1
DRSL_IMAGE_BATCHES = 1   # another task's run than the baseline's
DRSL_TEXT_BATCHES = 2    # unpaired modalities only; paired ones share the image order
VSE_BATCHES = 1
RACG_BATCHES = 7
RATING_TARGETS = 7       # (seed, split, RATING_TARGETS, step): the step's held-out targets
# RR-Net on ratings orders its edge batches by (seed, split); SDML each
# modality's by (seed, modality_stream(name)).


def modality_stream(name: str) -> int:
  """A stream per modality name (SDML's initialisation and batch order), so
  adding a modality never shifts another's draws."""
  return zlib.crc32(name.encode()) % (2 ** 31)


def generator(seed: int, stream: int, *more: int) -> np.random.Generator:
  """numpy's generator for (seed, stream, *more)."""
  return np.random.default_rng([seed, stream, *more])


def key(seed: int, stream: int):
  """JAX's key for (seed, stream). Imports JAX on first use only, so the
  data modules that name streams stay light."""
  import jax
  return jax.random.fold_in(jax.random.key(seed), stream)
