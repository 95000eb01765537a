"""Exports of stored runs: per-request data and summaries (CSV, Parquet, JSON), HTML reports.

Never imports streamlit; nothing secret is written.
"""

from inferlab.export.data import (
    EXPORT_FORMATS,
    export_bytes,
    export_runs,
    requests_frame,
    summaries_frame,
)
from inferlab.export.report import build_report, write_report

__all__ = [
    "EXPORT_FORMATS",
    "build_report",
    "export_bytes",
    "export_runs",
    "requests_frame",
    "summaries_frame",
    "write_report",
]
