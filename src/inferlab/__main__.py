"""`python -m inferlab` runs the command line."""

import sys

from inferlab.cli import main

sys.exit(main())
