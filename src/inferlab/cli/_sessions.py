"""The parts of a run's summary only some runs have: multi-turn sessions, over-saturation.

Shared by `inferlab probe` and `inferlab show`, so both print the same.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from inferlab.metrics.sessions import SessionsSummary, summarize_sessions
from inferlab.probe.engines.choice import engine_json
from inferlab.records import RunInfo
from inferlab.store import Store

__all__ = ["json_extras", "render_saturation", "render_sessions", "sessions_block"]


def sessions_block(store: Store, info: RunInfo) -> SessionsSummary | None:
    """The sessions block of a stored session run (None for other runs)."""
    if info.load_mode != "sessions":
        return None
    sessions = info.settings.get("sessions")
    turns = sessions.get("turns") if isinstance(sessions, dict) else None
    return summarize_sessions(store.records(info.run_id), turns if isinstance(turns, int) else None)


def json_extras(store: Store, info: RunInfo) -> dict[str, object]:
    """What `--json` adds to a run's summary: the engine that measured it, its sessions
    block and saturation verdict."""
    out: dict[str, object] = {}
    engine = engine_json(info)
    if engine is not None:
        out["engine"] = engine
    block = sessions_block(store, info)
    if block is not None:
        out["sessions"] = block.to_json()
    saturation = store.run_metadata(info.run_id).get("saturation")
    if isinstance(saturation, dict):
        out["saturation"] = saturation
    return out


def render_sessions(block: SessionsSummary, console: Console) -> None:
    """The by-turn table of a session run."""
    table = Table(
        title=f"{block.count} sessions x {block.turns} turns ({block.completed} complete)"
    )
    table.add_column("turn", justify="right")
    table.add_column("p50 TTFT ms", justify="right")
    table.add_column("mean input tokens", justify="right")
    table.add_column("mean cached tokens", justify="right")

    def fmt(x: float | None, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    for t in range(block.turns):
        table.add_row(
            str(t + 1),
            fmt(block.ttft_ms_by_turn[t], ",.1f"),
            fmt(block.input_tokens_by_turn[t], ",.0f"),
            fmt(block.cached_tokens_by_turn[t], ",.0f"),
        )
    console.print(table)
    p50, p95 = block.session_duration_p50_s, block.session_duration_p95_s
    console.print(
        f"session duration p50 {fmt(p50, ',.2f')} s, p95 {fmt(p95, ',.2f')} s; per session "
        f"{fmt(block.session_input_tokens, ',.0f')} input, "
        f"{fmt(block.session_output_tokens, ',.0f')} output, "
        f"{fmt(block.session_cached_tokens, ',.0f')} cached tokens (mean)",
        highlight=False,
    )


def render_saturation(saturation: object, console: Console) -> None:
    """One line for a run the probe found over-saturated."""
    if not isinstance(saturation, dict):
        return
    stopped = " — stopped" if saturation.get("stopped") else ""
    console.print(
        f"over-saturation after {float(saturation.get('at_s') or 0):.0f} s{stopped}: "
        f"{saturation.get('reason')}",
        highlight=False,
        markup=False,
    )
