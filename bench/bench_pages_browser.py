"""Time to a usable page, in real headless Chromium (issue 16 targets: every page < 2 s cold,
< 1 s on a widget change; Runs with 12 runs of 10,000 requests < 2 s; a run-selection
change < 1 s).

Run: `.venv/bin/python bench/bench_pages_browser.py [--repeat 3] [--runs 12] [--requests 10000]`
Needs Debian's chromium at /usr/bin/chromium (Playwright never downloads a browser).

What is timed is what a person waits for: from navigation (or from the widget change)
until Streamlit's script has finished and the page shows its title — read from the
`data-test-script-state` attribute Streamlit's front end keeps on its app element,
watched by a MutationObserver installed before the page loads. "Cold" is a new browser
context (no cache, new Streamlit session) on a dashboard process that has served the
page once before (so Python imports are not counted; the first-ever load is printed
too). "Settled" is from navigation until every plotly chart has drawn its SVG and the
main thread is free: the end of the last long task (> 50 ms, `PerformanceObserver`
'longtask') followed by 1 s without one. The script can finish seconds before plotly.js
has loaded and drawn, and the page does not answer clicks before it settles. A widget
change is timed from a settled page (else it would time the load's leftover work):
"change" until the rerun's script has finished, "change settled" until the main thread
is free again (charts redrawn). The database is built once with synthetic runs through
the Store API (`--db FILE` keeps it).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, serve_app  # noqa: E402
from tests.runs_data import store_comparison_runs  # noqa: E402

# Records every end of a script run (state -> notRunning) with its time.
OBSERVER = """
window.__runs = [];
let last = null;
const check = () => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return;
  const now = app.getAttribute('data-test-script-state');
  if (now === 'notRunning' && last !== 'notRunning') window.__runs.push(performance.now());
  last = now;
};
// Watch the whole document from the start: the app element appears later, and a fast
// page can finish its first run before any observer on the element itself is attached.
new MutationObserver(check).observe(document, {
  subtree: true, childList: true, attributes: true,
  attributeFilter: ['data-test-script-state'],
});
// Long tasks (> 50 ms on the main thread): the page cannot answer input during one.
window.__busyUntil = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    window.__busyUntil = Math.max(window.__busyUntil, e.startTime + e.duration);
  }
}).observe({type: 'longtask', buffered: true});
"""


def _done_count(page: Page) -> int:
    return int(page.evaluate("window.__runs ? window.__runs.length : 0"))


def _wait_done(page: Page, after: int, timeout_s: float = 120.0) -> float:
    """performance.now() of the first script end numbered > `after`, once a title shows."""
    page.wait_for_function(
        f"window.__runs && window.__runs.length > {after} && "
        "document.querySelector('[data-testid=stMainBlockContainer] h1')",
        timeout=timeout_s * 1000,
    )
    return float(page.evaluate(f"window.__runs[{after}]"))


# Every plotly chart on the page has drawn its SVG (plotly.js loaded, parsed and run).
DRAWN = """() => [...document.querySelectorAll('[data-testid=stPlotlyChart]')]
  .every(c => c.querySelector('.main-svg'))"""


QUIET_MS = 1000  # no long task for this long after the last one: the page has settled


def _settled(page: Page, since_ms: float) -> float:
    """performance.now() when the main thread became free after `since_ms`: the end of
    the last long task, once the charts have drawn and QUIET_MS passed without one."""
    page.wait_for_function(DRAWN, timeout=120_000)
    drawn = float(page.evaluate("performance.now()"))
    page.wait_for_function(
        f"performance.now() - Math.max(window.__busyUntil, {max(drawn, since_ms)}) > {QUIET_MS}",
        timeout=120_000,
        polling=100,
    )
    return max(drawn, since_ms, float(page.evaluate("window.__busyUntil")))


def _busy_s(cdp: Any) -> float:
    """The page's main-thread task time so far (CDP Performance 'TaskDuration', seconds):
    CPU work, which a busy machine stretches less than the wall-clock times."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))


def cold_load(browser: Any, url: str) -> tuple[float, float, float, Page, Any]:
    """Seconds from navigation to the script's end, until the page settled, and the
    main thread's busy time until then."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.add_init_script(OBSERVER)
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(url, wait_until="commit")
    end = _wait_done(page, 0)  # performance.now() counts from the navigation's start
    settled = _settled(page, end)
    return end / 1000.0, settled / 1000.0, _busy_s(cdp), page, ctx


def widget_change(page: Page, action: Any) -> tuple[float, float]:
    """Seconds from the widget change until the script run it starts has finished, and
    until the page settled again (NaN, NaN when no rerun finished within 60 s: the
    action did not reach a widget)."""
    before = _done_count(page)
    t0 = float(page.evaluate("performance.now()"))
    action(page)
    try:
        end = _wait_done(page, before, timeout_s=60.0)
    except PlaywrightTimeout:
        return math.nan, math.nan
    settled = _settled(page, end)
    return (end - t0) / 1000.0, (settled - t0) / 1000.0


def _fill(label: str, value: str) -> Any:
    def act(page: Page) -> None:
        box = page.get_by_label(label, exact=True).first
        box.fill(value)
        box.press("Enter")

    return act


def _click(name: str) -> Any:
    def act(page: Page) -> None:
        page.get_by_role("button", name=name).first.click()

    return act


def _remove_first_run(page: Page) -> None:
    page.locator('[data-testid="stMultiSelect"] [aria-label^="Remove "]').first.click()


def build_db(db: Path, runs: int, requests: int) -> list[str]:
    return store_comparison_runs(db, runs, requests)


def _row(name: str, first: float, samples: list[tuple[float, float, float, Any]]) -> str:
    colds = [s[0] for s in samples]
    settles = [s[1] for s in samples]
    busies = [s[2] for s in samples]
    changes = [s[3] for s in samples if s[3] is not None]
    done = [c for c in changes if not math.isnan(c[0])]
    change = (
        f"{statistics.median(c[0] for c in done):>10.2f}s "
        f"{max(c[0] for c in done):>10.2f}s "
        f"{statistics.median(c[1] for c in done):>15.2f}s"
        + (f" ({len(changes) - len(done)} no rerun)" if len(done) < len(changes) else "")
        if done
        else f"{'no rerun' if changes else '-':>11} {'-':>11} {'-':>16}"
    )
    return (
        f"{name:<24} {first:>10.2f}s {statistics.median(colds):>8.2f}s "
        f"{max(colds):>8.2f}s {statistics.median(settles):>11.2f}s "
        f"{max(settles):>11.2f}s {statistics.median(busies):>8.2f}s {change}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--pages", default="", help="comma-separated page names to time (default all)")
    ap.add_argument("--db", type=Path, help="reuse (or build once into) this database file")
    ap.add_argument(
        "--against",
        type=Path,
        help="a checkout of another commit (e.g. `git worktree add --detach DIR main`): its "
        "dashboard is timed too, alternating with this one load by load, so both see the "
        "same machine load",
    )
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM}: install Debian's chromium")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.duckdb"
        t = time.perf_counter()
        ids = (
            [f"run{i:02d}" for i in range(args.runs)]
            if db.exists()
            else build_db(db, args.runs, args.requests)
        )
        print(
            f"database: {args.runs} runs x {args.requests:,} requests in {time.perf_counter() - t:.1f} s"
        )
        runs_query = "&".join(f"runs={i}" for i in ids)
        pages: list[tuple[str, str, Any]] = [
            ("Home", "", None),
            ("Latency", "latency", _fill("TTFT of A (ms)", "250")),
            ("Latency exercise", "latency", _click("Load the chatbot exercise")),
            ("Throughput", "throughput", _fill("Concurrent requests", "48")),
            ("Cost", "cost", _fill("Input tokens per request", "1200")),
            ("Probe", "probe", None),
            ("Quality", "quality", None),
            (f"Runs ({args.runs} x {args.requests:,})", f"runs?{runs_query}", _remove_first_run),
        ]
        if (ROOT / "pages" / "trends.py").exists():
            pages.append(("Trends", "trends", None))
        wanted = {w.strip().lower() for w in args.pages.split(",") if w.strip()}
        if wanted:
            pages = [p for p in pages if p[0].split()[0].lower() in wanted]
        with ExitStack() as stack:
            servers = [("", stack.enter_context(serve_app(db)))]
            if args.against:
                servers.append(("  against", stack.enter_context(serve_app(db, args.against))))
            pw = stack.enter_context(sync_playwright())
            # One browser per dashboard: both serve the same static JS from the same site
            # (127.0.0.1; ports do not make sites), so in one browser the second would
            # reuse the first's in-memory compiled scripts and look faster.
            browsers = [
                pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                for _ in servers
            ]
            print(
                f"{'page':<24} {'first load':>11} {'cold p50':>9} {'cold max':>9} "
                f"{'settled p50':>12} {'settled max':>12} {'busy p50':>9} {'change p50':>11} "
                f"{'change max':>11} {'ch. settled p50':>16}"
            )
            for name, path, action in pages:
                firsts: list[float] = []
                samples: list[list[tuple[float, float, float, Any]]] = [[] for _ in servers]
                for (_, url), browser in zip(servers, browsers, strict=True):
                    first, _, _, page, ctx = cold_load(browser, f"{url}/{path}")
                    firsts.append(first)
                    ctx.close()
                for _ in range(args.repeat):
                    for i, ((_, url), browser) in enumerate(zip(servers, browsers, strict=True)):
                        cold, settled, busy, page, ctx = cold_load(browser, f"{url}/{path}")
                        change = widget_change(page, action) if action is not None else None
                        samples[i].append((cold, settled, busy, change))
                        ctx.close()
                for (suffix, _), first, rows in zip(servers, firsts, samples, strict=True):
                    print(_row(f"{name}{suffix}", first, rows))
            for browser in browsers:
                browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
