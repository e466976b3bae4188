"""Runs a config once per value of one field and plots a metric against it.

The same as `xmjax sweep` (xmjax/commands/sweep.py has the flags and examples):

    python launch/sweep.py --help
"""

import sys

from xmjax.commands import sweep

if __name__ == "__main__":
  sweep.run(sys.argv)
