"""The tasks: one module per `config.experiment` defining `TASK` (an
`xmjax.train.runner.Task`), each beside its JAX-free `<name>_schema.py`
(its config fields, defaults and rules; `xmjax.configs.registry` finds
them by that name). No task imports another.
"""
