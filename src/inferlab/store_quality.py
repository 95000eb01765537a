"""The quality probe's own tables, next to the run store's in the same DuckDB file.

A quality run is a normal run in the store (timings of every request, tag
"quality"); what the store does not keep is the text that came back. This
module adds two tables for that, with short-lived connections like the
store's own: `quality_outputs` (one row per request: prompt, reference, the
answer) and `quality_scores` (one row per run: its scores). Answers are model
output, never credentials.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from inferlab.quality import QualityOutput, TemperatureScores
from inferlab.store import StoreBusyError, StoreError, default_db_path

__all__ = ["QualityStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quality_outputs (
    run_id VARCHAR NOT NULL,
    idx INTEGER NOT NULL,
    prompt_id VARCHAR NOT NULL,
    repeat INTEGER NOT NULL,
    temperature DOUBLE NOT NULL,
    prompt VARCHAR NOT NULL,
    reference VARCHAR NOT NULL,
    output VARCHAR,
    ok BOOLEAN NOT NULL,
    error_class VARCHAR,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS quality_scores (
    run_id VARCHAR PRIMARY KEY,
    group_id VARCHAR,
    eval_set VARCHAR NOT NULL,
    temperature DOUBLE NOT NULL,
    repeats INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    exact_match DOUBLE,
    rouge_l DOUBLE,
    identical_share DOUBLE,
    pairwise_similarity DOUBLE,
    created_at TIMESTAMP NOT NULL
);
"""


class QualityStore:
    """Answers and scores of quality runs in the store's database file."""

    def __init__(self, path: str | Path | None = None, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.busy_timeout_s = busy_timeout_s

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        deadline = time.monotonic() + self.busy_timeout_s
        delay = 0.005
        while True:
            try:
                con = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StoreError(f"cannot open {self.path}: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"{self.path} stayed locked by another process for "
                        f"{self.busy_timeout_s:g} s; close long-running tools using it and retry"
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.25)
            except duckdb.Error as exc:
                raise StoreError(f"cannot open {self.path}: {exc}") from exc
        try:
            con.execute(_SCHEMA)
            yield con
        except duckdb.Error as exc:
            raise StoreError(f"quality tables in {self.path}: {exc}") from exc
        finally:
            con.close()

    def save(
        self,
        run_id: str,
        *,
        group_id: str | None,
        eval_set: str,
        repeats: int,
        outputs: Sequence[tuple[int, QualityOutput]],
        scores: TemperatureScores,
    ) -> None:
        """Store one run's answers (request index, output) and its scores, replacing earlier ones."""
        frame = pd.DataFrame(
            {
                "run_id": [run_id] * len(outputs),
                "idx": [i for i, _ in outputs],
                "prompt_id": [o.prompt_id for _, o in outputs],
                "repeat": [o.repeat for _, o in outputs],
                "temperature": [o.temperature for _, o in outputs],
                "prompt": [o.prompt for _, o in outputs],
                "reference": [o.reference for _, o in outputs],
                "output": [o.output for _, o in outputs],
                "ok": [o.ok for _, o in outputs],
                "error_class": [o.error_class for _, o in outputs],
            }
        )
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute("DELETE FROM quality_outputs WHERE run_id = ?", [run_id])
                con.execute("DELETE FROM quality_scores WHERE run_id = ?", [run_id])
                if len(frame):
                    con.register("q_frame", frame)
                    con.execute(
                        "INSERT INTO quality_outputs SELECT run_id, idx, prompt_id, repeat, "
                        "temperature, prompt, reference, output, ok, error_class FROM q_frame"
                    )
                    con.unregister("q_frame")
                con.execute(
                    "INSERT INTO quality_scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        run_id,
                        group_id,
                        eval_set,
                        scores.temperature,
                        repeats,
                        scores.requests,
                        scores.failed,
                        scores.exact_match,
                        scores.rouge_l,
                        scores.identical_share,
                        scores.pairwise_similarity,
                        datetime.now(UTC).replace(tzinfo=None),
                    ],
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def outputs(self, run_id: str) -> list[QualityOutput]:
        """The run's answers in request order (empty when it is not a quality run)."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT prompt_id, repeat, temperature, prompt, reference, output, ok, error_class "
                "FROM quality_outputs WHERE run_id = ? ORDER BY idx",
                [run_id],
            ).fetchall()
        return [
            QualityOutput(str(p), int(r), float(t), str(q), str(ref), o, bool(ok), e)
            for p, r, t, q, ref, o, ok, e in rows
        ]

    def scores(self) -> pd.DataFrame:
        """One row per quality run still in the store, newest first."""
        with self._connect() as con:
            has_runs = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'runs'"
            ).fetchone()
            if has_runs and has_runs[0]:
                cols, join = "r.label, r.model", "JOIN runs r USING (run_id)"
            else:  # no store tables yet: nothing to join
                cols, join = "NULL AS label, NULL AS model", ""
            return con.execute(
                f"SELECT q.run_id, q.group_id, {cols}, q.eval_set, q.temperature, "
                "q.repeats, q.requests, q.failed, q.exact_match, q.rouge_l, q.identical_share, "
                f"q.pairwise_similarity, q.created_at FROM quality_scores q {join} "
                "ORDER BY q.created_at DESC, q.run_id"
            ).df()

    def exact_match_pct(self, run_id: str) -> float | None:
        """The run's exact-match accuracy in percent, or None when it is not a quality run."""
        with self._connect() as con:
            row = con.execute(
                "SELECT exact_match FROM quality_scores WHERE run_id = ?", [run_id]
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return float(row[0]) * 100.0
