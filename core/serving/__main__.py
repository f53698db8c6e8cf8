"""``python -m core.serving --model-dir DIR [--port P] ...`` (see :mod:`core.serving.command`)."""

import sys

from core.serving.command import main

if __name__ == "__main__":
    sys.exit(main())
