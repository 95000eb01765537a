"""The metrics glossary shown on the Home page, one entry per metric of METRICS.md."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

__all__ = ["GLOSSARY", "PAGE_TITLES", "Term", "glossary_table", "linked_pages"]

# The app's pages (Home aside), for the glossary's "Explored on" and Home's links; Home
# links one once its file exists.
PAGE_TITLES = {
    "latency.py": "Latency",
    "runs.py": "Runs",
    "probe.py": "Probe",
    "throughput.py": "Throughput & capacity",
    "cost.py": "Cost",
    "quality.py": "Quality",
    "trends.py": "Trends",
}


@dataclass(frozen=True)
class Term:
    name: str
    unit: str
    formula: str
    meaning: str
    page: str  # file under pages/ that explores it


GLOSSARY: tuple[Term, ...] = (
    Term(
        "TTFT",
        "ms",
        "send → first chunk with output content",
        "Time to first token: how long the user stares at an empty answer.",
        "latency.py",
    ),
    Term(
        "TPOT",
        "ms/token",
        "(E2E − TTFT) / (output tokens − 1)",
        "Time per output token once streaming has started.",
        "latency.py",
    ),
    Term(
        "ITL",
        "ms",
        "gap between consecutive content chunks",
        "Inter-token latency; a chunk carrying k tokens counts as one gap.",
        "runs.py",
    ),
    Term(
        "E2E latency",
        "ms",
        "send → last content chunk ≈ TTFT + TPOT × (N − 1)",
        "End-to-end time for the whole answer.",
        "latency.py",
    ),
    Term(
        "Total latency (textbook)",
        "ms",
        "TTFT + TPOT × N",
        "The teaching formula; one TPOT more than the exact form.",
        "latency.py",
    ),
    Term(
        "Output tokens",
        "tokens",
        "server usage, else count of content chunks",
        "Length of the answer, N.",
        "latency.py",
    ),
    Term(
        "Client queue",
        "ms",
        "scheduled send → actual send",
        "Lag of the load generator itself; large values mean the client is overloaded.",
        "runs.py",
    ),
    Term(
        "RPS", "req/s", "completed requests / run duration", "Request throughput.", "throughput.py"
    ),
    Term(
        "Output TPS",
        "tokens/s",
        "output tokens of completed requests / run duration",
        "Token throughput of the whole deployment.",
        "throughput.py",
    ),
    Term(
        "Goodput",
        "req/s",
        "completed requests meeting every SLO / run duration",
        "Throughput that actually satisfies users; attainment is their share.",
        "runs.py",
    ),
    Term(
        "Error rate",
        "%",
        "failed requests / all requests",
        "Share of requests that did not complete.",
        "runs.py",
    ),
    Term(
        "Cost per 1M tokens",
        "$",
        "price per hour / (tokens per hour / 10⁶)",
        "What a token costs, API-priced or self-hosted.",
        "cost.py",
    ),
    Term(
        "Accuracy",
        "%",
        "exact match, or ROUGE-L overlap with the reference answer",
        "How often the answers are right on an evaluation set.",
        "quality.py",
    ),
    Term(
        "Consistency",
        "%",
        "share of identical answers when a prompt is repeated",
        "Whether the same question gets the same answer.",
        "quality.py",
    ),
)


def linked_pages(existing: Collection[str]) -> dict[str, str]:
    """PAGE_TITLES of the page files (e.g. 'cost.py') that exist, in PAGE_TITLES' order."""
    return {page: title for page, title in PAGE_TITLES.items() if page in existing}


def glossary_table(existing: Collection[str]) -> str:
    """The glossary as a Markdown table; a term's page is named only if its file exists."""
    pages = linked_pages(existing)
    rows = [
        "| Metric | Unit | Formula | What it tells you | Explored on |",
        "|---|---|---|---|---|",
    ]
    for term in GLOSSARY:
        where = pages.get(term.page, "")
        rows.append(
            f"| **{term.name}** | {term.unit} | `{term.formula}` | {term.meaning} | {where} |"
        )
    return "\n".join(rows)
