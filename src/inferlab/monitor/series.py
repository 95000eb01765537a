"""Series: the runs of one monitored configuration, found by a `series:NAME` tag.

A monitor tags every run `monitor` and `series:<name>`; the name defaults to
the endpoint, model and load settings, so runs of the same configuration line
up and a changed setting starts a new series. Imported runs join a series by
carrying the same tag (`inferlab import --series NAME`, or the Runs page's tag
editor), so trends work over them too.
"""

from __future__ import annotations

from collections.abc import Iterable

from inferlab.probe.config import ProbeConfig, describe_load, endpoint_for_display

__all__ = [
    "MONITOR_TAG",
    "SERIES_TAG_PREFIX",
    "SeriesError",
    "check_series_name",
    "series_name",
    "series_of",
    "series_tag",
]

MONITOR_TAG = "monitor"
SERIES_TAG_PREFIX = "series:"
MAX_SERIES_CHARS = 200


class SeriesError(ValueError):
    """A series name that cannot be used; the message says what to change."""


def check_series_name(name: str) -> str:
    """`name` stripped, or SeriesError (empty, too long, or with a comma: tags are
    edited as a comma-separated list on the Runs page)."""
    text = name.strip()
    if not text:
        raise SeriesError("the series name is empty; give a name such as prod-llama-8b")
    if "," in text or "\n" in text:
        raise SeriesError(f"the series name {text!r} contains a comma or line break; remove it")
    if len(text) > MAX_SERIES_CHARS:
        raise SeriesError(f"the series name is longer than {MAX_SERIES_CHARS} characters")
    return text


def series_name(cfg: ProbeConfig) -> str:
    """Endpoint + model + the settings that shape the numbers (never credentials)."""
    if cfg.load_mode == "concurrency":
        load = f"c={cfg.concurrency}"
    elif cfg.load_mode in ("sessions", "trace"):
        load = describe_load(cfg.load_mode, cfg.load_value)
    else:
        load = f"{cfg.load_mode} {cfg.rate_rps:g}/s"
    length = []
    if cfg.requests is not None:
        length.append(f"{cfg.requests} req")
    if cfg.duration_s is not None:
        length.append(f"{cfg.duration_s:g} s")
    prompt = "file" if cfg.prompts_file else str(cfg.prompt_tokens)
    parts = [
        endpoint_for_display(cfg.url),
        cfg.model,
        cfg.api,
        load,
        " ".join(length),
        f"{prompt}->{cfg.max_tokens} tok",
    ]
    return check_series_name(" · ".join(p for p in parts if p).replace(",", " "))


def series_tag(name: str) -> str:
    return SERIES_TAG_PREFIX + check_series_name(name)


def series_of(tags: Iterable[str] | None) -> str | None:
    """The series a run belongs to (its first `series:` tag), or None."""
    for tag in tags if tags is not None else ():
        text = str(tag)
        if text.startswith(SERIES_TAG_PREFIX) and text[len(SERIES_TAG_PREFIX) :].strip():
            return text[len(SERIES_TAG_PREFIX) :].strip()
    return None
