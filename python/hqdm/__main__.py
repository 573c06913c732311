"""python -m hqdm COMMAND ...: the same as the `hqdm` command (hqdm.cli)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
