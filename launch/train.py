"""Trains and evaluates any xmjax config.

The same as `xmjax train` (xmjax/commands/train.py has the flags and examples):

    python launch/train.py --help
"""

import sys

from xmjax.commands import train

if __name__ == "__main__":
  train.run(sys.argv)
