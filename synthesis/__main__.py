"""`python -m synthesis ...`: see synthesis.cli."""

import sys

from synthesis.cli import main

sys.exit(main())
