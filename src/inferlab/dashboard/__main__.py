"""`python -m inferlab.dashboard [streamlit options]` starts the dashboard."""

import sys

from inferlab.dashboard.launcher import main

sys.exit(main())
