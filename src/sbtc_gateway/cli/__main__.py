"""`python -m sbtc_gateway.cli …` runs the command line (the tests start processes this way)."""

import sys

from sbtc_gateway.cli import main

sys.exit(main())
