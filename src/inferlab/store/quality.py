"""Answers and scores of quality runs, in the run store's database file.

A quality run is a normal run in the store (timings of every request, tag
"quality"); what the `requests` table does not keep is the text that came
back. Two tables hold that, created by the store's migrations
(`inferlab.store.schema`, version 3): `quality_outputs` (one row per request:
prompt, reference, the answer) and `quality_scores` (one row per run: its
scores). Every call goes through the store's one connect (lock retry, clear
errors); `Store.delete_run` removes these rows with the run. Answers are model
output, never credentials.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from inferlab.quality.scoring import QualityOutput, TemperatureScores
from inferlab.store.db import Store

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
else:
    from inferlab.store._lazy import LazyModule

    pd = LazyModule("pandas")

__all__ = ["QualityStore"]


class QualityStore:
    """Answers and scores of quality runs in the store's database file."""

    def __init__(
        self, store: Store | str | os.PathLike[str] | None = None, *, busy_timeout_s: float = 30.0
    ) -> None:
        self.store = (
            store if isinstance(store, Store) else Store(store, busy_timeout_s=busy_timeout_s)
        )
        self.path = self.store.path

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        # The store's one connect: lock retry, "not a DuckDB file", migrations, spools;
        # `write` refuses a read-only or damaged file with a clear message.
        with self.store._session(write=write) as con:
            yield con

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
        with self._connect(write=True) as con:
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
            return con.execute(
                "SELECT q.run_id, q.group_id, r.label, r.model, q.eval_set, q.temperature, "
                "q.repeats, q.requests, q.failed, q.exact_match, q.rouge_l, q.identical_share, "
                "q.pairwise_similarity, q.created_at FROM quality_scores q "
                "JOIN runs r USING (run_id) ORDER BY q.created_at DESC, q.run_id"
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
