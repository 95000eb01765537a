"""Keep credentials out of the database: endpoints and settings are scrubbed on write,
and a server's text (an error body that echoes the key) is redacted before it is
stored or shown (`secret_values` + `redact`, the one place for both)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["SECRET_KEY", "clean_endpoint", "clean_settings", "redact", "secret_values"]

# Whole key names (or their last `_`/`-` part) that hold credentials; `max_tokens` is not one.
SECRET_KEY = re.compile(
    r"^(.*[-_])?(api[-_]?key|apikey|key|secret|password|passwd|authorization|auth|cookie|"
    r"token|bearer|signature|sig|credentials?)$",
    re.IGNORECASE,
)


# An auth scheme before the credential in a header value: "Bearer sk-...", "Basic dXNl...".
_SCHEME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9_-]*\s+(\S+)\s*$")
_MIN_SECRET = 4  # shorter values would redact ordinary words
REDACTED = "***"


def secret_values(values: Iterable[str | None]) -> tuple[str, ...]:
    """The secrets to redact: each value, and its credential part after an auth scheme
    ("Bearer sk-1" -> also "sk-1"), longest first, none shorter than 4 characters."""
    out: set[str] = set()
    for value in values:
        if not value:
            continue
        out.add(value.strip())
        m = _SCHEME.match(value)
        if m:
            out.add(m.group(1))
    return tuple(sorted((s for s in out if len(s) >= _MIN_SECRET), key=len, reverse=True))


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by ***, also a secret cut off at its end
    (a server's message truncated in the middle of the key it echoed)."""
    ordered = sorted((s for s in secrets if len(s) >= _MIN_SECRET), key=len, reverse=True)
    for secret in ordered:
        text = text.replace(secret, REDACTED)
    for secret in ordered:
        for cut in range(len(secret) - 1, _MIN_SECRET - 1, -1):
            if text.endswith(secret[:cut]):
                text = text[:-cut] + REDACTED
                break
    return text


def clean_endpoint(url: str) -> str:
    """The URL without user:password@ and without secret-looking query parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not SECRET_KEY.match(k)
        ]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def clean_settings(value: object) -> object:
    """A copy of a settings tree with secret-looking keys (api_key, Authorization, ...) dropped."""
    if isinstance(value, dict):
        return {str(k): clean_settings(v) for k, v in value.items() if not SECRET_KEY.match(str(k))}
    if isinstance(value, list | tuple):
        return [clean_settings(v) for v in value]
    return value
