"""The DuckDB run store: runs, requests, summaries in SQL, crash-safe probe spools.

Never imports streamlit. Design and reasons: docs/DESIGN-storage.md.
"""

from inferlab.metrics.summary import RunSummary, Slo, Stats
from inferlab.store.db import (
    RUN_STATUSES,
    SESSION_COLUMNS,
    NewRun,
    RecoveredSpool,
    RunWriter,
    Store,
    StoreBusyError,
    StoreError,
    UnknownRunError,
    default_db_path,
    records_to_arrow,
)
from inferlab.store.schema import SCHEMA_VERSION

__all__ = [
    "RUN_STATUSES",
    "SCHEMA_VERSION",
    "SESSION_COLUMNS",
    "NewRun",
    "RecoveredSpool",
    "RunSummary",
    "RunWriter",
    "Slo",
    "Stats",
    "Store",
    "StoreBusyError",
    "StoreError",
    "UnknownRunError",
    "default_db_path",
    "records_to_arrow",
]
