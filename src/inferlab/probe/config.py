"""What one probe run does: target, load shape, stop conditions, prompts.

`ProbeConfig` never reaches the database as a whole: `run_settings()` is the
credential-free part that does (header names, never header values or the key).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from inferlab.netpolicy import Pins
from inferlab.records import RunInfo

__all__ = [
    "RATE_MODES",
    "Api",
    "ConfigError",
    "LoadMode",
    "ProbeConfig",
    "api_url",
    "describe_load",
    "endpoint_for_display",
    "make_run_info",
    "response_cap_bytes",
    "sweep_configs",
]

Api = Literal["chat", "completions"]
LoadMode = Literal["concurrency", "constant", "poisson", "sessions", "trace"]
RATE_MODES = ("constant", "poisson", "trace")  # open loop: sent whatever is in flight
SweepAxis = Literal["concurrency", "rate"]

DEFAULT_REQUESTS = 100
DEFAULT_MAX_EVENT_BYTES = 1 << 20  # an OpenAI chunk is ~200 bytes; a big tool call a few KB
DEFAULT_MAX_RESPONSE_BYTES = 64 << 20  # the most a dashboard job may set
RESPONSE_BYTES_PER_TOKEN = 4096  # ~10x a chunk of one token with per-chunk usage
MIN_RESPONSE_BYTES = 1 << 20
SLOWEST_TOKEN_S = 0.5
"""The default request deadline allows one output token per 0.5 s after the first wait."""


class ConfigError(ValueError):
    """A setting that cannot work; the message names it and says what to use."""


@dataclass(frozen=True)
class ProbeConfig:
    """Settings of one run. `api_key`, header values and the URL (it may hold
    user:password or a key in its query) stay out of repr."""

    url: str = field(repr=False)
    model: str
    api: Api = "chat"
    api_key: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    load_mode: LoadMode = "concurrency"
    concurrency: int = 1  # closed loop; in rate modes an optional cap (0 = none)
    rate_rps: float | None = None
    requests: int | None = DEFAULT_REQUESTS
    duration_s: float | None = None
    warmup: int = 0
    timeout_s: float = 60.0
    prompt_tokens: int = 128
    max_tokens: int = 128
    ignore_eos: bool = False
    seed: int = 0
    prompts_file: str | None = None
    shared_prefix: bool = False
    label: str = ""
    tags: tuple[str, ...] = ()
    # Load shapes (inferlab.probe.schedule): linear ramp-up, gamma burstiness.
    ramp_up_s: float = 0.0
    burstiness: float = 1.0
    # Multi-turn sessions (load_mode "sessions", inferlab.probe.sessions).
    sessions: int = 0
    turns: int = 1
    think_time_s: float = 0.0
    system_prompt_tokens: int = 0
    user_tokens: int = 64
    # Trace replay (load_mode "trace", inferlab.probe.trace).
    trace_file: str | None = None
    trace_speed: float = 1.0
    stop_on_saturation: bool = False
    # The addresses the dashboard's policy checked (inferlab.outbound connects only
    # to them); None = no policy (the CLI). Never stored with the run.
    pins: Pins | None = field(default=None, repr=False, compare=False)
    request_deadline_s: float | None = None  # None: `deadline_s`'s default
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    max_response_bytes: int | None = None  # None: `response_cap_bytes`'s default

    # Prometheus /metrics to scrape during the run (inferlab.server.scraper):
    # none given = the API root's host + /metrics; disabled = no scraping.
    server_metrics: tuple[str, ...] = ()
    server_metrics_enabled: bool = True
    server_metrics_interval_s: float = 1.0

    @property
    def deadline_s(self) -> float:
        """The most one request may take, send to last byte: `request_deadline_s`, else
        the timeout plus 0.5 s per max token, and in a timed run at most duration + timeout.

        `timeout_s` bounds each wait for bytes; this bounds the whole request, so a
        server trickling a byte a second cannot hold a run (or a dashboard job) open.
        """
        if self.request_deadline_s is not None:
            return self.request_deadline_s
        deadline = self.timeout_s + self.max_tokens * SLOWEST_TOKEN_S
        if self.duration_s is not None:
            deadline = min(deadline, self.duration_s + self.timeout_s)
        return deadline

    def validate(self) -> None:
        """Raise ConfigError naming the first unusable setting."""
        check_url(self.url)
        if not self.model.strip():
            raise ConfigError("--model is empty; pass the model name the server serves")
        if self.api not in ("chat", "completions"):
            raise ConfigError(f"--api {self.api!r} is not chat or completions")
        if self.load_mode not in ("concurrency", "constant", "poisson", "sessions", "trace"):
            raise ConfigError(
                f"load mode {self.load_mode!r} is not concurrency, constant, poisson, "
                "sessions or trace"
            )
        self._validate_shape()
        self._validate_load()
        self._validate_bounds()
        self._validate_request()
        self._validate_server_metrics()

    def _validate_load(self) -> None:
        """The load mode's own settings, and that the run can end."""
        if self.load_mode == "concurrency":
            if self.concurrency < 1:
                raise ConfigError(f"--concurrency {self.concurrency} must be at least 1")
        elif self.load_mode in ("sessions", "trace"):
            self._validate_sessions_or_trace()
        else:
            if self.rate_rps is None or not math.isfinite(self.rate_rps) or self.rate_rps <= 0:
                raise ConfigError(f"--rate {self.rate_rps} must be a positive number of requests/s")
            if self.concurrency < 0:
                raise ConfigError(f"concurrency cap {self.concurrency} must be 0 (none) or more")
        bounded = self.load_mode in ("sessions", "trace")  # they end by themselves
        if self.requests is None and self.duration_s is None and not bounded:
            raise ConfigError("give --requests N and/or --duration S so the run can stop")
        if self.requests is not None and self.requests < 1:
            raise ConfigError(f"--requests {self.requests} must be at least 1")
        if self.duration_s is not None and not (
            math.isfinite(self.duration_s) and self.duration_s > 0
        ):
            raise ConfigError(f"--duration {self.duration_s} must be a positive number of seconds")
        if self.warmup < 0:
            raise ConfigError(f"--warmup {self.warmup} must be 0 or more")

    def _validate_bounds(self) -> None:
        """Timeouts, the per-request deadline and the byte caps."""
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ConfigError(f"--timeout {self.timeout_s} must be a positive number of seconds")
        if self.request_deadline_s is not None and not (
            math.isfinite(self.request_deadline_s) and self.request_deadline_s > 0
        ):
            raise ConfigError(
                f"--request-deadline {self.request_deadline_s} must be a positive number of seconds"
            )
        if self.max_event_bytes < 1024:
            raise ConfigError(f"--max-event-bytes {self.max_event_bytes} must be at least 1024")
        if self.max_response_bytes is not None and self.max_response_bytes < self.max_event_bytes:
            raise ConfigError(
                f"--max-response-bytes {self.max_response_bytes} must be at least "
                f"--max-event-bytes ({self.max_event_bytes})"
            )

    def _validate_request(self) -> None:
        """What each request carries: token counts and headers."""
        if self.prompt_tokens < 1:
            raise ConfigError(f"--prompt-tokens {self.prompt_tokens} must be at least 1")
        if self.max_tokens < 1:
            raise ConfigError(f"--max-tokens {self.max_tokens} must be at least 1")
        for name in self.headers:
            if not name or any(c in name for c in " :\r\n\t"):
                raise ConfigError(f"header name {name!r} is not valid; use --header Name:value")
        for value in self.headers.values():
            if any(c in value for c in "\r\n"):
                raise ConfigError("a --header value contains a line break")

    def _validate_server_metrics(self) -> None:
        interval = self.server_metrics_interval_s
        if not (math.isfinite(interval) and interval >= 0.1):
            raise ConfigError(f"--server-metrics-interval {interval} must be at least 0.1 seconds")
        for url in self.server_metrics:
            parts = urlsplit(url.strip())
            if "@" in parts.netloc:  # not echoed: it holds a password
                raise ConfigError(
                    "a --server-metrics URL contains a user name or password; inferlab sends "
                    "no credentials to /metrics, remove them"
                )
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(
                    f"--server-metrics {url!r} is not an http(s) URL; "
                    "use e.g. http://127.0.0.1:8000/metrics"
                )

    def _validate_shape(self) -> None:
        if not (math.isfinite(self.ramp_up_s) and self.ramp_up_s >= 0):
            raise ConfigError(f"--ramp-up-s {self.ramp_up_s} must be 0 or more seconds")
        if self.ramp_up_s and self.load_mode == "trace":
            raise ConfigError("--ramp-up-s does not apply to --trace (the trace sets the times)")
        if not (math.isfinite(self.burstiness) and self.burstiness > 0):
            raise ConfigError(f"--burstiness {self.burstiness} must be a positive number")
        if self.burstiness != 1.0 and self.load_mode != "poisson":
            raise ConfigError("--burstiness needs --rate R with --arrival poisson (gamma gaps)")
        if self.stop_on_saturation and self.load_mode not in RATE_MODES:
            raise ConfigError(
                "--stop-on-saturation needs a rate-driven load (--rate or --trace); "
                "a closed loop cannot outrun the server"
            )

    def _validate_sessions_or_trace(self) -> None:
        if self.warmup:
            raise ConfigError(f"--warmup does not apply to --{self.load_mode}; leave it at 0")
        if self.concurrency < 0:
            raise ConfigError(f"concurrency cap {self.concurrency} must be 0 (none) or more")
        if self.load_mode == "trace":
            if not self.trace_file:
                raise ConfigError("trace mode needs --trace FILE (JSONL, docs/TRACES.md)")
            if not (math.isfinite(self.trace_speed) and self.trace_speed > 0):
                raise ConfigError(f"--trace-speed {self.trace_speed} must be a positive number")
            return
        if self.api != "chat":
            raise ConfigError("--sessions needs --api chat (a conversation is chat messages)")
        if self.prompts_file:
            raise ConfigError("--sessions builds its own conversations; drop --prompts-file")
        if self.sessions < 1:
            raise ConfigError(f"--sessions {self.sessions} must be at least 1")
        if self.turns < 1:
            raise ConfigError(f"--turns {self.turns} must be at least 1")
        if not (math.isfinite(self.think_time_s) and self.think_time_s >= 0):
            raise ConfigError(f"--think-time-s {self.think_time_s} must be 0 or more seconds")
        if self.system_prompt_tokens < 0:
            raise ConfigError(
                f"--system-prompt-tokens {self.system_prompt_tokens} must be 0 or more"
            )
        if self.user_tokens < 1:
            raise ConfigError(f"--user-tokens {self.user_tokens} must be at least 1")

    @property
    def rate_driven(self) -> bool:
        """Open loop: requests go out on a schedule whatever is in flight."""
        return self.load_mode in RATE_MODES

    @property
    def load_value(self) -> float:
        """Concurrency, requests/s in the rate modes, sessions, or the trace's speed-up."""
        if self.load_mode == "concurrency":
            return float(self.concurrency)
        if self.load_mode == "sessions":
            return float(self.sessions)
        if self.load_mode == "trace":
            return float(self.trace_speed)
        return float(self.rate_rps or 0.0)

    @property
    def max_in_flight(self) -> int | None:
        """Most requests open at once (sizes the connection pool); None = unbounded."""
        if self.load_mode == "concurrency":
            return self.concurrency
        if self.load_mode == "sessions":
            return self.sessions
        return self.concurrency or None

    def run_settings(self) -> dict[str, object]:
        """Everything worth keeping with the run, without credentials."""
        return {
            "requests": self.requests,
            "duration_s": self.duration_s,
            "warmup": self.warmup,
            "timeout_s": self.timeout_s,
            "request_deadline_s": self.deadline_s,
            "max_event_bytes": self.max_event_bytes,
            "max_response_bytes": response_cap_bytes(self.max_response_bytes, self.max_tokens),
            "prompt_tokens": None if self.prompts_file else self.prompt_tokens,
            "max_tokens": self.max_tokens,
            "ignore_eos": self.ignore_eos,
            "seed": self.seed,
            "prompts_file": self.prompts_file,
            "shared_prefix": self.shared_prefix,
            "concurrency_cap": self.max_in_flight,
            "header_names": sorted(self.headers),
            "authenticated": self.api_key is not None,
            "server_metrics": [endpoint_for_display(u) for u in self.server_metrics]
            if self.server_metrics_enabled
            else "off",
            "server_metrics_interval_s": self.server_metrics_interval_s,
            **self._shape_settings(),
        }

    def _shape_settings(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.ramp_up_s:
            out["ramp_up_s"] = self.ramp_up_s
        if self.load_mode == "poisson":
            out["burstiness"] = self.burstiness
        if self.stop_on_saturation:
            out["stop_on_saturation"] = True
        if self.load_mode == "sessions":
            out["sessions"] = {
                "count": self.sessions,
                "turns": self.turns,
                "think_time_s": self.think_time_s,
                "system_prompt_tokens": self.system_prompt_tokens,
                "user_tokens": self.user_tokens,
            }
            out["prompt_tokens"] = None
        if self.load_mode == "trace":
            out["trace"] = {"file": Path(self.trace_file or "").name, "speed": self.trace_speed}
            out["prompt_tokens"] = None
        return out


def response_cap_bytes(max_response_bytes: int | None, max_tokens: int) -> int:
    """Most bytes one response may have: the setting, else 4 KiB per requested token
    (at least 1 MiB). A server streaming without end stops there, long before the
    per-chunk timings it makes the client keep could fill memory."""
    if max_response_bytes is not None:
        return max_response_bytes
    return max(MIN_RESPONSE_BYTES, max_tokens * RESPONSE_BYTES_PER_TOKEN)


def check_url(url: str) -> None:
    """Raise ConfigError unless `url` is an http(s) URL with a host and no user info."""
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https") and "@" in parts.netloc:
        # Not echoed: it holds a password. httpx would send it as Basic auth.
        raise ConfigError(
            "--url contains a user name or password; remove it and pass the key with "
            "--api-key-env VAR"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--url {url!r} is not an http(s) URL; use e.g. http://127.0.0.1:8001/v1")
    if any(c.isspace() for c in url.strip()):
        raise ConfigError(
            f"--url {url.strip()!r} contains a space; give only the base URL, e.g. "
            "http://127.0.0.1:8001/v1"
        )
    try:
        parts.port  # noqa: B018 - raises on a non-numeric port
    except ValueError:
        raise ConfigError(f"--url {url!r} has an invalid port") from None


def api_url(base_url: str, path: str) -> str:
    """`path` (e.g. "/chat/completions") under the API root, keeping its query string."""
    parts = urlsplit(base_url.strip())
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + path, fragment=""))


def endpoint_for_display(url: str) -> str:
    """The URL without user:password, query or fragment (where secrets hide)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def make_run_info(cfg: ProbeConfig, group_id: str | None = None) -> RunInfo:
    """A fresh RunInfo for `cfg` (new run id, started now)."""
    return RunInfo(
        run_id=uuid.uuid4().hex[:12],
        started_at=datetime.now(UTC),
        endpoint=endpoint_for_display(cfg.url),
        model=cfg.model,
        api=cfg.api,
        load_mode=cfg.load_mode,
        load_value=cfg.load_value,
        label=cfg.label,
        tags=tuple(cfg.tags),
        source_tool="inferlab",
        group_id=group_id,
        settings=cfg.run_settings(),
    )


def describe_load(load_mode: str, load_value: float) -> str:
    """'concurrency 8', 'poisson 4 req/s', '4 sessions', 'trace at 2x'."""
    if load_mode == "concurrency":
        return f"concurrency {load_value:g}"
    if load_mode == "sessions":
        return f"{load_value:g} sessions"
    if load_mode == "trace":
        return f"trace at {load_value:g}x"
    return f"{load_mode} {load_value:g} req/s"


def sweep_configs(cfg: ProbeConfig, values: list[float]) -> list[ProbeConfig]:
    """One config per sweep step: concurrencies in concurrency mode, else rates."""
    if not values:
        raise ConfigError("--sweep needs at least one value, e.g. --sweep 1,4,16,64")
    steps = []
    for v in values:
        if not (math.isfinite(v) and v > 0):
            raise ConfigError(f"--sweep value {v} must be a positive number")
        if cfg.load_mode in ("sessions", "trace"):
            raise ConfigError(f"--sweep does not combine with --{cfg.load_mode}")
        if cfg.load_mode == "concurrency":
            if v != int(v):
                raise ConfigError(f"--sweep value {v} must be a whole concurrency")
            steps.append(replace(cfg, concurrency=int(v)))
        else:
            steps.append(replace(cfg, rate_rps=float(v)))
    return steps
