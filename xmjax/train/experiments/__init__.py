"""The tasks: one module per `config.experiment`, each defining `TASK`
(an `xmjax.train.runner.Task`) and `default_config()` (its locked schema).

The registry is `xmjax.train.runner.TASKS`; no task imports another.
"""

from xmjax.configs import sibling_config  # noqa: F401  (re-exported for old configs)
from xmjax.train.runner import TASKS as EXPERIMENTS  # noqa: F401  (the registry, by its old name)
