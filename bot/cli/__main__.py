"""`python -m bot.cli`, as the tests run the command line."""

import sys

from bot.cli import main

sys.exit(main())
