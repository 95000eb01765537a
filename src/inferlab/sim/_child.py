"""Entry point of ``SimServer(process=True)``: ``python -m inferlab.sim._child``."""

import sys

from inferlab.sim.server import child_main

if __name__ == "__main__":
    sys.exit(child_main())
