"""Keep secrets out of a server's text: the one place that redacts what we store or show.

A server may echo the key it was sent ("Incorrect API key provided: sk-..."); every
error message, warning and stored answer goes through `redact` with the request's
`secret_values` first. A leaf module (no inferlab imports), so the probe, which must
not import the store, and the store can both use it. Endpoints and settings are
cleaned on write by `inferlab.store.redact`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "redact", "secret_values"]

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
