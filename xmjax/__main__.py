"""`python -m xmjax ...` is the `xmjax` command (xmjax.cli)."""

from xmjax.cli import main

main()
