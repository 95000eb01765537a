"""Keep credentials out of the database: endpoints and settings are scrubbed on write.

A server's text (an error that echoes the key) is redacted by `inferlab.redaction`."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["SECRET_KEY", "clean_endpoint", "clean_settings"]

# Whole key names (or their last `_`/`-` part) that hold credentials; `max_tokens` is not one.
SECRET_KEY = re.compile(
    r"^(.*[-_])?(api[-_]?key|apikey|key|secret|password|passwd|authorization|auth|cookie|"
    r"token|bearer|signature|sig|credentials?)$",
    re.IGNORECASE,
)


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
