"""What the Runs page needs to bring runs in and out: uploads, downloads, imported-run panels.

Pure helpers over `inferlab.importers` and `inferlab.export`; the page only
draws widgets with what these return (no streamlit here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from inferlab.compare import runs as compare
from inferlab.export import build_report, export_bytes
from inferlab.importers import (
    FORMATS,
    MAX_LISTED,
    UploadOutcome,
    import_info,
    import_uploads,
    max_upload_bytes,
    tool_comparison,
    tool_metrics_frame,
)
from inferlab.store import Store

__all__ = [
    "FORMAT_CHOICES",
    "UPLOAD_TYPES",
    "Download",
    "ExportFile",
    "ImportPanel",
    "downloads",
    "export_file_bytes",
    "export_files",
    "import_panel",
    "import_uploads",
    "report_download",
    "upload_limit_mb",
    "upload_messages",
]

# What the uploader accepts (AIPerf's aggregate is .json, its records .jsonl).
UPLOAD_TYPES = ["json", "jsonl", "csv", "parquet"]
FORMAT_CHOICES = ["detect", *FORMATS]
_MIME = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
}


def upload_limit_mb() -> float:
    """The import size limit in MB ($INFERLAB_MAX_UPLOAD_MB, default 200)."""
    return max_upload_bytes() / (1024 * 1024)


def upload_messages(outcomes: Sequence[UploadOutcome]) -> list[tuple[str, str]]:
    """(level, markdown) per uploaded file: "success", "info" (already imported) or "error"."""
    out: list[tuple[str, str]] = []
    for o in outcomes:
        if o.error is not None:
            tried = f" (read {o.tried})" if o.tried.startswith("as ") else ""
            if o.details:
                text = f"**{o.name}** was not imported{tried}: {o.count:,} problems\n\n"
                text += "\n".join(f"- {d}" for d in o.details[:MAX_LISTED])
                if o.count > MAX_LISTED:
                    text += f"\n- … and {o.count - MAX_LISTED:,} more"
            else:
                text = f"**{o.name}** was not imported{tried}: {o.problem or o.error}"
            # The importers speak to the CLI; here the same choice is the Format selector.
            text = text.replace("pass --format", "choose it under **Format**")
            out.append(("error", text))
            continue
        new = [r for r in o.runs if not r.duplicate]
        old = [r for r in o.runs if r.duplicate]
        if new:
            runs = ", ".join(f"`{r.run_id}` ({r.label}, {r.requests:,} requests)" for r in new)
            text = f"**{o.name}**: imported {len(new)} run{'s' if len(new) > 1 else ''}: {runs}."
            notes = sorted({n for r in new for n in r.notes})
            if notes:
                text += " " + " ".join(f"Note: {n}." for n in notes)
            out.append(("success", text))
        if old:
            ids = ", ".join(f"`{r.run_id}`" for r in old)
            added = any(r.server_metrics_added for r in old)
            what = "its server metrics were added" if added else "nothing added"
            out.append(("info", f"**{o.name}** was imported before ({ids}); {what}."))
    return out


@dataclass(frozen=True)
class Download:
    """One file for a download button."""

    label: str
    file_name: str
    data: bytes
    mime: str


def downloads(store: Store, run_ids: Sequence[str], fmt: str) -> list[Download]:
    """The export of `run_ids` in `fmt` as files: requests (and summaries for CSV/Parquet)."""
    files = export_bytes(store, run_ids, fmt)
    out = []
    for name, data in files.items():
        what = "summaries" if ".summaries." in name else "per-request data"
        if fmt == "json":
            what = "requests and summaries"
        out.append(Download(f"{fmt.upper()}: {what}", name, data, _MIME[fmt]))
    return out


@dataclass(frozen=True)
class ExportFile:
    """A download button's label, file name and type, known before any data is built."""

    label: str
    file_name: str
    mime: str
    fmt: str


def export_files(fmt: str) -> list[ExportFile]:
    """The files an export in `fmt` consists of (build each with `export_file_bytes`)."""
    if fmt == "json":
        return [ExportFile("JSON: requests and summaries", "inferlab-runs.json", _MIME[fmt], fmt)]
    return [
        ExportFile(f"{fmt.upper()}: per-request data", f"inferlab-runs.{fmt}", _MIME[fmt], fmt),
        ExportFile(f"{fmt.upper()}: summaries", f"inferlab-runs.summaries.{fmt}", _MIME[fmt], fmt),
    ]


def export_file_bytes(store: Store, run_ids: Sequence[str], fmt: str, file_name: str) -> bytes:
    """One file of the export (for a download button's deferred `data=` callable)."""
    return export_bytes(store, run_ids, fmt)[file_name]


def report_download(
    store: Store,
    run_ids: Sequence[str],
    *,
    baseline: str | None = None,
    convention: str = "inferlab",
    slo: compare.Slo | None = None,
) -> Download:
    """The self-contained HTML report of the comparison."""
    page = build_report(store, run_ids, baseline=baseline, convention=convention, slo=slo)
    return Download("HTML report", "inferlab-report.html", page.encode("utf-8"), "text/html")


@dataclass(frozen=True)
class ImportPanel:
    """Where an imported run came from, and the tool's numbers next to inferlab's."""

    caption: str  # "Imported from benchmarks.json (guidellm 0.8.1, format guidellm)."
    notes: tuple[str, ...]  # what could not be recomputed, in plain words
    comparison: (
        pd.DataFrame
    )  # Metric, inferlab, tool (its name), tool's value, difference, verdict, why
    disagreements: int
    tool_metrics: pd.DataFrame  # every number the tool reported, under its own name


def import_panel(store: Store, run_id: str) -> ImportPanel | None:
    """The panel of an imported run; None for inferlab's own runs."""
    info = import_info(store, run_id)
    if info is None:
        return None
    version = f" {info.tool_version}" if info.tool_version else ""
    caption = (
        f"Imported from {info.file} ({info.source_tool}{version}). "
        "“inferlab” is recomputed from the file's per-request data with inferlab's "
        "definitions; “tool” is the number the tool reported, under its own name."
    )
    cmp = tool_comparison(info.source_tool, info.tool_metrics, store.summary(run_id))

    def verdict(v: object) -> str:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return "only one side"
        return "agree" if v else "differ"

    table = pd.DataFrame(
        {
            "Metric": cmp["metric"],
            "inferlab": cmp["inferlab"],
            "Tool's name": cmp["tool_metric"],
            "Tool": cmp["tool_value"],
            "Difference %": cmp["rel_diff"].astype(float) * 100,
            "Verdict": [verdict(v) for v in cmp["agrees"]],
            "Why they differ": cmp["note"],
        }
    )
    return ImportPanel(
        caption=caption,
        notes=info.notes,
        comparison=table,
        disagreements=int((table["Verdict"] == "differ").sum()),
        tool_metrics=tool_metrics_frame(info.tool_metrics),
    )
