"""Re-evaluates a finished or interrupted run without training.

The same as `xmjax eval` (xmjax/commands/eval.py has the flags and examples):

    python launch/eval.py --help
"""

import sys

from xmjax.commands import eval

if __name__ == "__main__":
  eval.run(sys.argv)
