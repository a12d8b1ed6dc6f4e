"""``python -m cpexplore`` is the ``cpexplore`` command."""

import sys

from .cli import main

sys.exit(main())
