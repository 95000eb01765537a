"""Start the dashboard: `python -m inferlab.dashboard [streamlit options]` (what `make run` does).

Streamlit treats a folder named `pages/` beside the entry point as a legacy
(v1) multipage app until the first `st.navigation` call of the process. A
deep link such as /latency opened before anyone visited / would then run the
page without app.py's navigation and page config. We use `st.navigation`
only, so the legacy mode is switched off before the server starts.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["APP_PATH", "main"]

APP_PATH = Path(__file__).resolve().parents[3] / "app.py"


def main(argv: list[str] | None = None) -> int:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli as stcli

    if not APP_PATH.exists():
        print(
            f"inferlab: error: no app.py at {APP_PATH}; run from a source checkout", file=sys.stderr
        )
        return 2
    PagesManager.uses_pages_directory = False
    args = sys.argv[1:] if argv is None else argv
    sys.argv = ["streamlit", "run", str(APP_PATH), *args]
    return int(stcli.main() or 0)
