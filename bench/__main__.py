"""`python -m bench [--quick] [--only STAGE,…]`: run the suite, print the table, write JSON."""

from __future__ import annotations

import sys

from bench.run import main

sys.exit(main())
