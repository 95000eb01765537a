"""Import results of other benchmark tools (vLLM, guidellm, AIPerf) and inferlab CSVs.

    from inferlab.importers import import_file, ImportFileError
    runs = import_file(store, "benchmarks.json")          # format detected
    runs = import_file(store, "results.json", "vllm")     # or given

Never imports streamlit. File formats and mappings: one module per tool;
the tool's own numbers next to inferlab's: `reconcile`.
"""

from inferlab.importers.base import (
    DEFAULT_MAX_UPLOAD_MB,
    FORMATS,
    MAX_LISTED,
    ImportFileError,
    ParsedRun,
    ToolMetric,
    max_upload_bytes,
)
from inferlab.importers.detect import detect_format
from inferlab.importers.load import (
    ImportedRun,
    ImportInfo,
    UploadOutcome,
    import_file,
    import_info,
    import_uploads,
    parse_file,
    tool_comparison_for_run,
)
from inferlab.importers.reconcile import tool_comparison, tool_metrics_frame

__all__ = [
    "DEFAULT_MAX_UPLOAD_MB",
    "FORMATS",
    "MAX_LISTED",
    "ImportFileError",
    "ImportInfo",
    "ImportedRun",
    "ParsedRun",
    "ToolMetric",
    "UploadOutcome",
    "detect_format",
    "import_file",
    "import_info",
    "import_uploads",
    "max_upload_bytes",
    "parse_file",
    "tool_comparison",
    "tool_comparison_for_run",
    "tool_metrics_frame",
]
