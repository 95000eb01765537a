"""The Probe page's inputs: URL parameters, choices, the API key source, the probe config.

Pure (no Streamlit): the page reads widgets and passes their values here.
The API key itself is never a URL parameter; only where it comes from is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from inferlab.dashboard.params import (
    ChoiceParam,
    NumberParam,
    check_params,
    last_value,
    repeated_messages,
    unusual_messages,
)
from inferlab.netpolicy import Limits, NetPolicy, TargetError, check_key_env_name
from inferlab.probe import ProbeConfig
from inferlab.probe.engines.ray import ray_available
from inferlab.server.scraper import default_metrics_url

__all__ = [
    "CHOICES",
    "LINK_PARAMS",
    "NUMBER_PARAMS",
    "TEXT_PARAMS",
    "USER_INFO_MESSAGE",
    "ChoiceParam",
    "FormValues",
    "KeySourceError",
    "MetricsFormError",
    "build_config",
    "clean_metrics_urls",
    "default_metrics_text",
    "defaults",
    "link_problems",
    "metrics_urls_of",
    "over_limit",
    "parse_tags",
    "ray_engine_available",
    "resolve_api_key",
    "share_values",
    "without_user_info",
]

MAX_TIME_MS = 600_000.0


def ray_engine_available() -> bool:
    """Whether the Probe page offers the Ray engine (the `distributed` extra is installed)."""
    return ray_available()


CHOICES: tuple[ChoiceParam, ...] = (
    ChoiceParam(
        "target",
        "Endpoint",
        {"sim": "Built-in simulator", "url": "Another endpoint"},
        "sim",
    ),
    ChoiceParam(
        "api", "API style", {"chat": "Chat completions", "completions": "Completions"}, "chat"
    ),
    ChoiceParam(
        "load_mode",
        "Load mode",
        {
            "concurrency": "Fixed concurrency",
            "constant": "Constant rate",
            "poisson": "Poisson arrivals",
            "sessions": "Multi-turn sessions",
        },
        "concurrency",
    ),
    ChoiceParam(
        "server_metrics",
        "Server metrics",
        {
            "default": "The API root's /metrics",
            "custom": "Other URL(s)",
            "off": "Off",
        },
        "default",
    ),
    ChoiceParam(
        "key_source",
        "API key source",
        {
            "none": "No key",
            "field": "Type it in",
            "env": "Environment variable",
            "secret": "secrets.toml entry",
        },
        "none",
    ),
)
CHOICE = {c.name: c for c in CHOICES}

NUMBER_PARAMS: tuple[NumberParam, ...] = (
    NumberParam("sim_ttft_ms", "Simulator TTFT (ms)", 200.0, 0.0, MAX_TIME_MS),
    NumberParam("sim_tpot_ms", "Simulator TPOT (ms)", 20.0, 0.0, 60_000.0),
    NumberParam("sim_jitter_ms", "Simulator jitter (ms)", 0.0, 0.0, 60_000.0),
    NumberParam("sim_capacity", "Simulator capacity (streams)", 256, 1, 100_000, integer=True),
    NumberParam("sim_growth_ms", "TPOT growth per extra stream (ms)", 0.0, 0.0, 1_000.0),
    NumberParam("sim_error_pct", "Simulated errors (%)", 0.0, 0.0, 100.0),
    NumberParam("sim_prefill_ms", "Prefill per 1k prompt tokens (ms)", 0.0, 0.0, 60_000.0),
    NumberParam("concurrency", "Concurrency", 8, 1, 100_000, integer=True, typical_max=2_000),
    NumberParam("rate_rps", "Rate (requests/s)", 4.0, 0.01, 100_000.0),
    NumberParam("max_in_flight", "In-flight cap", 0, 0, 100_000, integer=True),
    NumberParam("ramp_up_s", "Ramp-up (s)", 0.0, 0.0, 86_400.0),
    NumberParam("burstiness", "Burstiness (gamma shape)", 1.0, 0.01, 100.0),
    NumberParam("sessions", "Sessions (users)", 4, 1, 100_000, integer=True, typical_max=2_000),
    NumberParam("turns", "Turns per session", 5, 1, 1_000, integer=True),
    NumberParam("think_time_s", "Think time (s)", 0.0, 0.0, 3_600.0),
    NumberParam("system_prompt_tokens", "System prompt tokens", 0, 0, 1_000_000, integer=True),
    NumberParam("user_tokens", "Tokens per question", 64, 1, 1_000_000, integer=True),
    NumberParam("requests", "Requests", 50, 1, 10_000_000, integer=True),
    NumberParam("duration_s", "Time limit (s)", 0.0, 0.0, 86_400.0),
    NumberParam("warmup", "Warm-up requests", 0, 0, 100_000, integer=True),
    NumberParam("prompt_tokens", "Prompt tokens", 128, 1, 1_000_000, integer=True),
    NumberParam("max_tokens", "Output tokens", 128, 1, 1_000_000, integer=True),
    # ProbeConfig refuses intervals under 0.1 s (a scrape every few ms only loads the server).
    NumberParam("server_metrics_interval_s", "Scrape interval (s)", 1.0, 0.1, 3_600.0),
)
NUMBER = {p.name: p for p in NUMBER_PARAMS}

# Free-text URL parameters (checked when the probe starts, not when the link opens).
TEXT_PARAMS = ("url", "model", "label", "tags", "key_env", "key_secret", "metrics_urls")
# Every name the page can put in a link, whatever mode the form is in (a link keeps the
# other modes' values): anything else in a link is not a setting of this page.
LINK_PARAMS = frozenset([*NUMBER, *CHOICE, *TEXT_PARAMS, "sim_prefix_cache", "stop_on_saturation"])

USER_INFO_MESSAGE = (
    "The endpoint URL contained a user name or password; it was removed and is neither "
    "sent nor kept in the link. Put the key in the API key field (Where the API key comes "
    "from: Type it in) or name an environment variable."
)


def without_user_info(url: str) -> str:
    """`url` without a ``user:password@`` part (httpx would send it as Basic auth).

    Also for text that is not a valid URL yet (``user:pw@host/v1``), so a
    password never reaches the share link whatever was typed.
    """
    text = url.strip()
    if "@" not in text:
        return url
    parts = urlsplit(text)
    if parts.scheme and parts.netloc:
        if "@" not in parts.netloc:
            return url
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    head, sep, rest = text.partition("://")
    authority_and_path = rest if sep else head
    authority, slash, path = authority_and_path.partition("/")
    if "@" not in authority:
        return url
    clean = authority.rpartition("@")[2] + slash + path
    return f"{head}{sep}{clean}" if sep else clean


def metrics_urls_of(text: str) -> tuple[str, ...]:
    """The metrics URLs typed into one field: separated by commas or spaces, duplicates dropped."""
    parts = text.replace(",", " ").split()
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def clean_metrics_urls(text: str) -> str:
    """`text` with any ``user:password@`` removed from each URL (inferlab sends none to /metrics)."""
    urls = metrics_urls_of(text)
    if all(without_user_info(u) == u for u in urls):
        return text
    return ", ".join(without_user_info(u) for u in urls)


def _above_limits(query: Mapping[str, str | list[str]], limits: Limits) -> set[str]:
    caps = {
        "concurrency": limits.max_concurrency,
        "sessions": limits.max_concurrency,
        "requests": limits.max_requests,
        "duration_s": limits.max_duration_s,
    }
    out = set()
    for name, cap in caps.items():
        if name in query:
            try:
                if float(last_value(query[name])) > cap:
                    out.add(name)
            except ValueError:
                pass  # check_params names it
    return out


def default_metrics_text(target: str, url: str) -> str:
    """What the default server-metrics choice scrapes, in words for the form."""
    if target == "sim":
        return "the simulator's own /metrics"
    try:
        shown = default_metrics_url(url) if url.strip() else ""
    except ValueError:  # a port out of range: the launch check names it
        shown = ""
    if not shown.startswith(("http://", "https://")):
        return "the endpoint's host and port with path /metrics"
    return f"`{shown}`"


def link_problems(query: Mapping[str, str | list[str]], limits: Limits | None = None) -> list[str]:
    """Warnings for hand-edited link values Streamlit would drop silently. A value above
    this dashboard's `limits` is not also called "unusual ... used as given": the
    form's own warning says Launch will refuse it."""
    messages = [p.message(NUMBER[p.name].label) for p in check_params(query, NUMBER_PARAMS)]
    refused = _above_limits(query, limits) if limits is not None else set()
    messages += unusual_messages(query, [p for p in NUMBER_PARAMS if p.name not in refused])
    labels = {p.name: p.label for p in NUMBER_PARAMS} | {c.name: c.label for c in CHOICES}
    repeated = {name: raw for name, raw in query.items() if isinstance(raw, list)}
    messages += repeated_messages({k: v for k, v in repeated.items() if k in labels}, labels)
    for choice in CHOICES:
        if choice.name not in query:
            continue
        raw = query[choice.name]
        value = last_value(raw)
        if choice.code(value) is None:
            allowed = ", ".join(f"'{v}'" for v in choice.options.values())
            messages.append(
                f"The link's `{choice.name}` ({choice.label}) was ignored: '{value}' is not one "
                f"of {allowed}. Using '{choice.options[choice.default]}' instead; change it "
                "in the form."
            )
    raw_url = query.get("url")
    for value in raw_url if isinstance(raw_url, list) else [raw_url] if raw_url else []:
        if without_user_info(value) != value:
            messages.append(f"The link's `url`: {USER_INFO_MESSAGE}")
            break
    raw_metrics = last_value(query["metrics_urls"]) if "metrics_urls" in query else ""
    if raw_metrics and clean_metrics_urls(raw_metrics) != raw_metrics:
        messages.append(
            "The link's `metrics_urls` contained a user name or password; it was removed. "
            "inferlab sends no credentials to /metrics."
        )
    if "api_key" in query or "key" in query:
        messages.append(
            "The link carries an API key parameter; it was ignored. Keys are never taken "
            "from or put into links: type the key in the form, or name an environment "
            "variable or secrets.toml entry."
        )
    return messages


class KeySourceError(ValueError):
    """The API key cannot be found where the form says it is."""


class MetricsFormError(ValueError):
    """The server-metrics inputs cannot be used; the message says what to change."""


def resolve_api_key(
    source: str,
    *,
    typed: str | None,
    env_name: str | None,
    secret_name: str | None,
    environ: Mapping[str, str],
    secrets: Mapping[str, object] | None,
    policy: NetPolicy,
) -> str | None:
    """The key to send, from the source the form names; KeySourceError with what to do."""
    if source == "none":
        return None
    if source == "field":
        key = (typed or "").strip()
        if not key:
            raise KeySourceError("The API key field is empty; type the key or choose 'No key'.")
        return key
    if source == "env":
        if not (env_name or "").strip():
            raise KeySourceError(
                "Name the environment variable that holds the key, e.g. OPENAI_API_KEY."
            )
        try:
            name = check_key_env_name(env_name or "", policy)
        except TargetError as exc:
            raise KeySourceError(str(exc)) from None
        value = environ.get(name, "").strip()
        if not value:
            raise KeySourceError(
                f"${name} is not set in the environment of the dashboard's host; set it "
                "before starting the dashboard, or type the key instead."
            )
        return value
    if source == "secret":
        name = (secret_name or "").strip()
        if not name:
            raise KeySourceError("Name the entry of [api_keys] in .streamlit/secrets.toml.")
        table = (secrets or {}).get("api_keys")
        entry = table.get(name) if isinstance(table, Mapping) else None
        if not isinstance(entry, str) or not entry.strip():
            raise KeySourceError(
                f"No entry {name!r} in the [api_keys] table of .streamlit/secrets.toml; add "
                f'`{name} = "..."` under [api_keys] and restart the dashboard.'
            )
        return entry.strip()
    raise KeySourceError(f"Unknown key source {source!r}.")


def parse_tags(text: str) -> tuple[str, ...]:
    """'a, b ,, c' -> ('a', 'b', 'c'), duplicates dropped."""
    seen: dict[str, None] = {}
    for tag in text.split(","):
        if tag.strip():
            seen[tag.strip()] = None
    return tuple(seen)


@dataclass(frozen=True)
class FormValues:
    """Everything the form holds that shapes the probe (the key comes separately)."""

    url: str
    model: str
    api: str = "chat"
    load_mode: str = "concurrency"
    concurrency: int = 8
    rate_rps: float = 4.0
    max_in_flight: int = 0
    requests: int = 50
    duration_s: float = 0.0
    warmup: int = 0
    prompt_tokens: int = 128
    max_tokens: int = 128
    label: str = ""
    tags: str = ""
    ramp_up_s: float = 0.0
    burstiness: float = 1.0
    stop_on_saturation: bool = False
    sessions: int = 4
    turns: int = 5
    think_time_s: float = 0.0
    system_prompt_tokens: int = 0
    user_tokens: int = 64
    server_metrics: str = "default"  # default / custom / off
    metrics_urls: str = ""
    server_metrics_interval_s: float = 1.0


def _metrics_settings(form: FormValues) -> tuple[bool, tuple[str, ...], float]:
    """(scrape at all, the custom URLs, interval); MetricsFormError when unusable."""
    interval = float(form.server_metrics_interval_s)
    if form.server_metrics == "off":
        return False, (), interval
    if not (math.isfinite(interval) and interval >= 0.1):
        raise MetricsFormError(
            f"The scrape interval {interval:g} s is too short: use 0.1 s or more "
            "(1 s is the default), or turn server metrics off."
        )
    if form.server_metrics != "custom":
        return True, (), interval
    urls = metrics_urls_of(form.metrics_urls)
    if not urls:
        raise MetricsFormError(
            "Server metrics is set to other URL(s) but none is given: type one, e.g. "
            "http://127.0.0.1:8000/metrics, or choose the API root's /metrics."
        )
    for url in urls:
        if without_user_info(url) != url:
            raise MetricsFormError(
                "A metrics URL contains a user name or password; inferlab sends no "
                "credentials to /metrics, remove them."
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MetricsFormError(
                f"The metrics URL '{url}' is not an http(s) URL; use e.g. "
                "http://127.0.0.1:8000/metrics."
            )
    return True, urls, interval


def over_limit(
    form: FormValues,
    apply_limits: Callable[[ProbeConfig, NetPolicy], ProbeConfig],
    policy: NetPolicy,
) -> str | None:
    """Why Launch would refuse the form under this dashboard's limits, said before the
    click (a link can carry concurrency=100000); None when it is within them."""
    try:
        cfg = build_config(form, None)
    except ValueError:
        return None  # Launch names that problem
    try:
        apply_limits(cfg, policy)
    except ValueError as exc:  # JobError
        return str(exc)
    return None


def build_config(form: FormValues, api_key: str | None) -> ProbeConfig:
    """The probe config of the form; MetricsFormError for unusable server-metrics inputs,
    the rest is validated when the job starts."""
    scrape, metrics_urls, interval = _metrics_settings(form)
    rate_mode = form.load_mode in ("constant", "poisson")
    sessions = form.load_mode == "sessions"
    duration = form.duration_s if form.duration_s and math.isfinite(form.duration_s) else None
    return ProbeConfig(
        url=form.url.strip(),
        model=form.model.strip(),
        api="completions" if form.api == "completions" else "chat",
        api_key=api_key,
        load_mode=form.load_mode,  # type: ignore[arg-type]
        concurrency=int(form.max_in_flight if rate_mode else form.concurrency),
        rate_rps=float(form.rate_rps) if rate_mode else None,
        requests=int(form.requests),
        duration_s=duration,
        warmup=int(form.warmup),
        prompt_tokens=int(form.prompt_tokens),
        max_tokens=int(form.max_tokens),
        label=form.label.strip(),
        tags=parse_tags(form.tags),
        ramp_up_s=float(form.ramp_up_s),
        burstiness=float(form.burstiness) if form.load_mode == "poisson" else 1.0,
        stop_on_saturation=bool(form.stop_on_saturation) and rate_mode,
        sessions=int(form.sessions) if sessions else 0,
        turns=int(form.turns) if sessions else 1,
        think_time_s=float(form.think_time_s) if sessions else 0.0,
        system_prompt_tokens=int(form.system_prompt_tokens) if sessions else 0,
        user_tokens=int(form.user_tokens),
        server_metrics=metrics_urls,
        server_metrics_enabled=scrape,
        server_metrics_interval_s=interval,
    )


def share_values(
    form: FormValues, target: str, key_source: str, extra: Mapping[str, object]
) -> dict[str, object]:
    """The URL parameters of the form (never the key itself)."""
    values: dict[str, object] = {
        "target": target,
        "api": form.api,
        "load_mode": form.load_mode,
        "requests": form.requests,
        "duration_s": form.duration_s,
        "warmup": form.warmup,
        "prompt_tokens": form.prompt_tokens,
        "max_tokens": form.max_tokens,
        "label": form.label or None,
        "tags": form.tags or None,
    }
    values["ramp_up_s"] = form.ramp_up_s
    values["server_metrics"] = form.server_metrics
    if form.server_metrics != "off":
        values["server_metrics_interval_s"] = form.server_metrics_interval_s
    if form.server_metrics == "custom":
        values["metrics_urls"] = clean_metrics_urls(form.metrics_urls).strip() or None
    if form.load_mode == "concurrency":
        values["concurrency"] = form.concurrency
    elif form.load_mode == "sessions":
        for name in ("sessions", "turns", "think_time_s", "system_prompt_tokens", "user_tokens"):
            values[name] = getattr(form, name)
        for name in ("requests", "warmup", "prompt_tokens"):
            values.pop(name)
    else:
        values["rate_rps"] = form.rate_rps
        values["max_in_flight"] = form.max_in_flight
        if form.load_mode == "poisson":
            values["burstiness"] = form.burstiness
        if form.stop_on_saturation:
            values["stop_on_saturation"] = True
    if target == "url":
        values["url"] = without_user_info(form.url) or None
        values["model"] = form.model or None
        values["key_source"] = key_source
    values.update(extra)
    for choice in CHOICES:  # the URL carries the label, as Streamlit's binding writes it
        if isinstance(values.get(choice.name), str):
            values[choice.name] = choice.options.get(str(values[choice.name]), values[choice.name])
    return values


def defaults() -> dict[str, object]:
    """Default of every URL parameter (left out of share links)."""
    out: dict[str, object] = {p.name: p.default for p in NUMBER_PARAMS}
    out.update({c.name: c.options[c.default] for c in CHOICES})
    return out
