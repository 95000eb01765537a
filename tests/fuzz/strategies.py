"""What the fuzz suite shares: reproducible Hypothesis settings and hostile values.

Every test runs few examples so `make test` stays fast (derandomized, so a finding
reproduces with the same command). `INFERLAB_FUZZ_EXAMPLES=500 pytest tests/fuzz`
explores more: random examples (the failure report prints the `--hypothesis-seed`
that repeats them) and no shrinking, which is slow through AppTest. Each finding is kept as an explicit regression test in
tests/fuzz/test_findings_*.py.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

__all__ = ["GARBAGE_NUMBERS", "fuzz_settings", "number_text"]

_SCALE = int(os.environ.get("INFERLAB_FUZZ_EXAMPLES", "0") or 0)

# Texts people (or attackers) put where a number belongs.
GARBAGE_NUMBERS = ("", " ", "-1", "-0", "nan", "NaN", "inf", "-inf", "Infinity", "1e308",
                   "-1e308", "1e309", "5e-324", "99999999999999999999", "0x10", "1,5", "1_000",
                   " 7 ", "abc", "١٢", "None", "null", "[]", "{}", "%00", "'; DROP TABLE runs;--")  # fmt: skip


def fuzz_settings(max_examples: int) -> settings:
    """Settings for one fuzz test: `max_examples` (or $INFERLAB_FUZZ_EXAMPLES), no deadline."""
    explore = bool(_SCALE)
    return settings(
        max_examples=_SCALE or max_examples,
        deadline=None,
        derandomize=not explore,
        phases=[Phase.explicit, Phase.generate] if explore else list(Phase),
        database=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def number_text(lo: float, hi: float, *, integer: bool) -> st.SearchStrategy[str]:
    """A number inside [lo, hi] as a link would spell it, its edges, or garbage."""
    if integer:
        inside: st.SearchStrategy[str] = st.integers(int(lo), int(hi)).map(str)
    else:
        values = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
        inside = st.one_of(values.map(repr), values.map(lambda v: f"{v:g}"))
    edges = st.sampled_from(sorted({lo, hi, 0.0, 1.0, (lo + hi) / 2})).map(
        lambda v: str(int(v)) if integer and float(v).is_integer() else repr(float(v))
    )
    return st.one_of(inside, inside, edges, st.sampled_from(GARBAGE_NUMBERS))
