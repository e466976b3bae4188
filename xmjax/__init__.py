"""xmjax: cross-modal mapping by relational reasoning in JAX/Flax.

Parts:
  xmjax.graph   graph construction (blockwise kNN, top-K candidates, padding).
  xmjax.nn      reusable Flax linen modules and jraph blocks.
  xmjax.models  RR-Net, DRSL, RACG and SDML with their losses, and the baselines.
  xmjax.data    loaders, shipped data sets, validation.
  xmjax.train   train state, jitted steps, loop, checkpoints, experiments.
  xmjax.programs  the library's jitted programs, and a list of those a run calls.

Importing ``xmjax`` or ``xmjax.nn`` initialises nothing (no absl flags, no
TFDS, no orbax): the heavy subpackages are imported on first use.
"""

from xmjax.errors import InputError

__all__ = ["InputError"]
__version__ = "0.1.0"
