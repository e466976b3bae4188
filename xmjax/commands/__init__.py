"""The command-line commands (`xmjax train|eval|sweep|configs`), one module
each; each defines its absl flags when imported, so a process imports only
the one it runs (xmjax.cli)."""
