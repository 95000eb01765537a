"""Which endpoints the dashboard may probe, and how much one visitor may ask of it.

A dashboard shared with a team sends requests on its visitors' behalf, so a
probe must not become a way into the host's network (../shared/DESIGN.md,
"Shared deployments"):

- An allow-list (env ``INFERLAB_ALLOWED_TARGETS``, comma-separated, or
  ``allowed_targets`` in the ``[inferlab]`` table of ``.streamlit/secrets.toml``)
  names the hosts or endpoints that may be probed; when it is set every other
  target is refused. Entries: ``host``, ``host:port``, ``*.example.com``,
  a URL prefix ``https://api.example.com/v1``, or a network ``10.0.0.0/8``.
  Without an allow-list any target is allowed (a local, single-user dashboard).
- Link-local addresses (169.254.0.0/16, fe80::/10) and cloud metadata hosts are
  refused always, allow-list or not; host names are resolved and every address
  they resolve to is checked.
- The name checked and resolved is exactly the one httpx connects to (its
  ``raw_host``: IDNA 2008, so ``straße`` is ``xn--strae-oqa``, never Python's
  IDNA 2003 ``strasse``), and the checked addresses travel with the
  :class:`Target` as :class:`Pins`: ``inferlab.outbound`` connects to them and
  to nothing else, so there is no second lookup for DNS rebinding to answer.
- A URL-prefix entry confines the path: ``.``/``..`` segments, percent-encoded
  dots and doubled slashes are normalised before matching.
- A user name or password in the URL is refused (httpx would send it as Basic
  auth and the dashboard would keep it in the share link).
- Redirects are never followed (httpx's default; the preflight and model list
  pass ``follow_redirects=False`` explicitly), so a 3xx cannot lead elsewhere.
- Per-session limits cap concurrency, requests, duration and running probes.

No Streamlit here: the page passes what it read from ``st.secrets``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

__all__ = [
    "METADATA_HOSTS",
    "Limits",
    "NetPolicy",
    "Pins",
    "PolicyError",
    "Resolver",
    "Target",
    "TargetError",
    "check_address",
    "check_key_env_name",
    "check_target",
    "connect_host",
    "load_policy",
    "normal_path",
    "parse_target",
    "redirect_refusal",
    "resolve_checked",
    "system_resolver",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Sequence[str]]

ENV_ALLOWED = "INFERLAB_ALLOWED_TARGETS"
ENV_KEY_VARS = "INFERLAB_KEY_ENV_VARS"
ENV_SHARED_PROBES = "INFERLAB_SHARED_PROBES"
SECRETS_FILE = Path(__file__).resolve().parents[2] / ".streamlit" / "secrets.toml"

METADATA_HOSTS = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.com",
        "metadata.packet.net",
        "metadata.platformequinix.com",
    }
)
"""Names of cloud metadata services (the link-local addresses are refused anyway)."""

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer
        "192.0.0.192",  # Oracle Cloud (legacy)
    )
)
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DEFAULT_KEY_SUFFIXES = ("_API_KEY", "_KEY", "_TOKEN")


class PolicyError(ValueError):
    """A setting of the policy itself is unusable (names the setting)."""


class TargetError(ValueError):
    """A probe target that is malformed or not allowed; the message says what to do."""


@dataclass(frozen=True)
class Limits:
    """Per-session caps, so one visitor cannot exhaust the host."""

    max_concurrency: int = 256
    max_requests: int = 10_000
    max_duration_s: float = 3600.0
    max_running_jobs: int = 4


@dataclass(frozen=True)
class NetPolicy:
    """The allow-list (empty = anything not forbidden) and the per-session limits."""

    allowed: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    key_env_vars: tuple[str, ...] = ()  # env var names allowed as key sources; () = by suffix
    source: str = "default"  # where the allow-list came from, for messages
    # A visitor sees only their own probes (labels, endpoints) unless the deployment opts
    # into one list for everybody (INFERLAB_SHARED_PROBES=true).
    shared_probes: bool = False

    @property
    def restricted(self) -> bool:
        return bool(self.allowed)


def _split_list(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items: Iterable[object] = value.split(",")
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise PolicyError(f"{name} must be a comma-separated string or a list of strings")
    return tuple(str(i).strip() for i in items if str(i).strip())


def _positive(value: object, name: str, integer: bool) -> float:
    try:
        number = float(str(value))
    except ValueError:
        raise PolicyError(f"{name}={value!r} is not a number") from None
    if not number > 0 or (integer and number != int(number)):
        raise PolicyError(
            f"{name}={value!r} must be a positive {'whole ' if integer else ''}number"
        )
    return number


def load_policy(
    environ: Mapping[str, str] | None = None,
    secrets: Mapping[str, object] | None = None,
    secrets_file: Path | None = SECRETS_FILE,
) -> NetPolicy:
    """The policy from the environment, else the ``[inferlab]`` table of the secrets.

    `secrets` is that table when the caller already has it (``st.secrets``);
    otherwise `secrets_file` is read if it exists. The environment wins.
    """
    env = os.environ if environ is None else environ
    table: Mapping[str, object] = {}
    if secrets is not None:
        table = secrets
    elif secrets_file is not None and secrets_file.is_file():
        try:
            data = tomllib.loads(secrets_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise PolicyError(f"{secrets_file} cannot be read: {exc}") from None
        section = data.get("inferlab", {})
        table = section if isinstance(section, Mapping) else {}

    def setting(env_name: str, key: str) -> tuple[object, str] | None:
        if env.get(env_name, "").strip():
            return env[env_name], env_name
        if key in table:
            return table[key], f"[inferlab] {key} in secrets.toml"
        return None

    allowed: tuple[str, ...] = ()
    source = "default"
    found = setting(ENV_ALLOWED, "allowed_targets")
    if found is not None:
        allowed = _split_list(found[0], found[1])
        source = found[1]
        for entry in allowed:
            _parse_entry(entry, found[1])
    limits = {}
    for attr, env_name, integer in (
        ("max_concurrency", "INFERLAB_MAX_CONCURRENCY", True),
        ("max_requests", "INFERLAB_MAX_REQUESTS", True),
        ("max_duration_s", "INFERLAB_MAX_DURATION_S", False),
        ("max_running_jobs", "INFERLAB_MAX_RUNNING_JOBS", True),
    ):
        found = setting(env_name, attr)
        if found is not None:
            value = _positive(found[0], found[1], integer)
            limits[attr] = int(value) if integer else value
    key_vars: tuple[str, ...] = ()
    found = setting(ENV_KEY_VARS, "key_env_vars")
    if found is not None:
        key_vars = _split_list(found[0], found[1])
    shared = False
    found = setting(ENV_SHARED_PROBES, "shared_probes")
    if found is not None:
        shared = _flag(found[0], found[1])
    return NetPolicy(allowed, Limits(**limits), key_vars, source, shared)  # type: ignore[arg-type]


def _flag(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise PolicyError(f"{name}={value!r} must be true or false")


@dataclass(frozen=True)
class _Entry:
    kind: str  # host | hostport | wildcard | prefix | network
    host: str = ""
    port: int | None = None
    prefix: str = ""
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None


def _parse_entry(entry: str, source: str = "allow-list") -> _Entry:
    text = entry.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PolicyError(f"{source}: {entry!r} is not an http(s) URL")
        try:
            return _Entry("prefix", prefix=_normal_url(text))
        except (httpx.InvalidURL, UnicodeError, ValueError):
            raise PolicyError(f"{source}: {entry!r} has a host name that cannot be used") from None
    if "/" in text:
        try:
            return _Entry("network", network=ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise PolicyError(f"{source}: {entry!r} is not a network like 10.0.0.0/8") from None
    if text.startswith("*."):
        return _Entry("wildcard", host=_entry_host(text[2:], entry, source))
    host, port = text, None
    if text.startswith("["):  # [::1]:8000
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], entry, source)
    elif text.count(":") == 1:
        host, _, raw = text.partition(":")
        port = _port(raw, entry, source)
    if not host:
        raise PolicyError(f"{source}: {entry!r} has no host")
    return _Entry("hostport" if port else "host", host=_entry_host(host, entry, source), port=port)


def _entry_host(host: str, entry: str, source: str) -> str:
    """`host` spelt as httpx connects to it (IDNA 2008), so entries match targets."""
    try:
        return _host_key(connect_host(f"http://[{host}]/" if ":" in host else f"http://{host}/"))
    except TargetError:
        raise PolicyError(f"{source}: {entry!r} has a host name that cannot be used") from None


def _port(raw: str, entry: str, source: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise PolicyError(f"{source}: {entry!r} has an invalid port")
    return int(raw)


def _normal_url(url: str) -> str:
    """scheme://host:port/path with the host as httpx sends it and the path normalised."""
    parsed = httpx.URL(url.strip())
    host = _host_key(parsed.raw_host.decode("ascii"))
    if ":" in host:
        host = f"[{host}]"
    port = parsed.port or _default_port(parsed.scheme)
    path = urlsplit(url.strip()).path
    return f"{parsed.scheme}://{host}:{port}{normal_path(path).rstrip('/')}"


def normal_path(path: str) -> str:
    """`path` as a server may understand it, for prefix matching.

    Percent-escapes are decoded (``%2e%2e`` is ``..``, ``%2f`` a slash), a
    backslash counts as a slash, empty segments (``//``) and ``.`` are dropped
    and ``..`` removes the segment before it (never above the root). Matching
    on this form is stricter than any server's reading of the raw path.
    """
    text = path
    for _ in range(3):  # double encoding (%252e) decodes in steps on some stacks
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    segments: list[str] = []
    for segment in text.replace("\\", "/").split("/"):
        name = segment.split(";", 1)[0]  # '..;x' is '..' to servlet containers
        if name in ("", "."):
            continue
        if name == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/" + "/".join(segments)


@dataclass(frozen=True)
class Pins:
    """The addresses checked for each (host, port), as httpx spells the host.

    `inferlab.outbound` connects a request for a pinned host to these
    addresses only, and refuses any host that is not pinned.
    """

    entries: tuple[tuple[str, int, tuple[str, ...]], ...] = ()

    def addresses(self, host: str, port: int) -> tuple[str, ...] | None:
        """The checked addresses of `host`:`port`, or None when it was not checked."""
        key = _host_key(host)
        for pinned_host, pinned_port, addresses in self.entries:
            if pinned_host == key and pinned_port == port:
                return addresses
        return None


@dataclass(frozen=True)
class Target:
    """A parsed probe target; `addresses` are the checked ones (empty until checked)."""

    url: str
    scheme: str
    host: str  # as httpx connects to it: lower-case, IDNA 2008 (xn--...), no brackets
    port: int
    addresses: tuple[str, ...] = ()

    @property
    def pins(self) -> Pins:
        """The checked addresses for `inferlab.outbound` to connect to (none: it refuses)."""
        return Pins(((self.host, self.port, self.addresses),))


def _host_key(host: str) -> str:
    return host.lower().rstrip(".")


def connect_host(url: str) -> str:
    """The host name httpx connects to for `url` (its ``raw_host``); TargetError if none.

    httpx encodes names with IDNA 2008 (``straße`` -> ``xn--strae-oqa``) where
    Python's own codec and ``socket.getaddrinfo`` use IDNA 2003
    (``strasse``): resolve and check only this spelling.
    """
    try:
        raw = httpx.URL(url.strip()).raw_host
    except (httpx.InvalidURL, UnicodeError, ValueError):
        raise TargetError(
            f"The endpoint URL {url.strip()!r} has a host name that cannot be used; "
            "type the host in plain ASCII (xn--... for an internationalised name) or as an IP address."
        ) from None
    return raw.decode("ascii")


def parse_target(url: str) -> Target:
    """The target `url` names; TargetError with an example when it is malformed."""
    text = (url or "").strip()
    example = "e.g. http://127.0.0.1:8000/v1 or https://api.example.com/v1"
    if not text:
        raise TargetError(f"The endpoint URL is empty; enter the server's base URL, {example}.")
    if any(c.isspace() for c in text):
        raise TargetError(f"The endpoint URL {text!r} contains spaces; {example}.")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise TargetError(
            f"The endpoint URL {text!r} must start with http:// or https://; {example}."
        )
    if "@" in parts.netloc:  # before anything echoes the URL: it holds a password
        raise TargetError(
            "The endpoint URL contains a user name or password; remove it and put the key "
            "in the API key field instead."
        )
    try:
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise TargetError(f"The endpoint URL {text!r} has an invalid port; {example}.") from None
    if not host:
        raise TargetError(f"The endpoint URL {text!r} has no host name; {example}.")
    if parts.query or parts.fragment:
        raise TargetError(
            f"The endpoint URL {text!r} has a query or fragment; give only the base URL, {example}."
        )
    host = _host_key(connect_host(text))  # the name httpx connects to, or TargetError
    parsed = httpx.URL(text)
    default = _default_port(parts.scheme)
    if parsed.userinfo or (parsed.port or default) != (port or default):
        raise TargetError(f"The endpoint URL {text!r} cannot be read unambiguously; {example}.")
    return Target(text, parts.scheme, host, port or default)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def system_resolver(host: str) -> list[str]:
    """The addresses of `host` (an ASCII name as httpx spells it), in the system's order."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _forbidden(address: Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata service"
    if any(address in net for net in LINK_LOCAL):
        return "a link-local address"
    return None


def _entry_allows(entry: _Entry, target: Target, addresses: Sequence[Address]) -> bool:
    if entry.kind == "host":
        return target.host == entry.host
    if entry.kind == "hostport":
        return target.host == entry.host and target.port == entry.port
    if entry.kind == "wildcard":
        return target.host.endswith("." + entry.host)
    if entry.kind == "prefix":
        url = _normal_url(target.url)
        return url == entry.prefix or url.startswith(entry.prefix + "/")
    assert entry.network is not None
    return bool(addresses) and all(a in entry.network for a in addresses)


def check_target(
    url: str,
    policy: NetPolicy,
    *,
    also_allowed: Iterable[str] = (),
    resolve: Resolver | None = None,
) -> Target:
    """The parsed target if `policy` lets the dashboard probe `url`, else TargetError.

    `also_allowed` are URL prefixes the dashboard itself serves (the built-in
    simulator), allowed even when an allow-list is set. A host name that does
    not resolve is left to the preflight, which reports it as such.
    """
    target = parse_target(url)
    checked = resolve_checked(target.host, resolve)
    target = replace(target, addresses=tuple(str(a) for a in checked))
    own = {_normal_url(u) for u in also_allowed}
    if not policy.restricted or any(
        _normal_url(target.url) == p or _normal_url(target.url).startswith(p + "/") for p in own
    ):
        return target
    entries = [_parse_entry(e, policy.source) for e in policy.allowed]
    if any(_entry_allows(e, target, checked) for e in entries):
        return target
    typed = (urlsplit(target.url).hostname or "").rstrip(".")
    shown = f"{target.host}:{target.port}"
    if typed and typed != target.host:  # an internationalised name: both spellings
        shown = f"{typed}:{target.port} (sent as {target.host})"
    raise TargetError(
        f"{shown} is not on this dashboard's list of allowed targets "
        f"({', '.join(policy.allowed)}; set by {policy.source}). Probe one of those, or ask "
        "whoever runs the dashboard to add it."
    )


def check_address(address: str, host: str = "") -> Address:
    """`address` parsed, or TargetError if it is link-local or a metadata service."""
    parsed = ipaddress.ip_address(address.split("%")[0])
    why = _forbidden(parsed)
    if why is not None:
        shown = f"{host} ({parsed})" if host and host != str(parsed) else str(parsed)
        raise TargetError(f"{shown} is {why}; the dashboard never contacts such addresses.")
    return parsed


def resolve_checked(host: str, resolve: Resolver | None = None) -> list[Address]:
    """The addresses `host` resolves to, after the always-on refusal; [] if it does not resolve.

    `host` is the name as httpx connects to it (:func:`connect_host`); an IP
    literal is its own address. TargetError for a cloud metadata name or when any
    address is link-local or a metadata service. A name that does not resolve is
    left to the connection, which reports it (and which refuses a host without
    checked addresses).
    """
    key = _host_key(host)
    if key in METADATA_HOSTS or key.endswith(".metadata.google.internal"):
        raise TargetError(f"{key} is a cloud metadata service; the dashboard never contacts it.")
    try:
        ipaddress.ip_address(key.split("%")[0])
    except ValueError:
        pass
    else:
        return [check_address(key)]
    try:
        found = list((resolve or system_resolver)(host))
    except (OSError, UnicodeError, ValueError):
        return []
    addresses = []
    for address in found:
        try:
            ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            continue  # a resolver answer that is no address is not connected to either
        addresses.append(check_address(address, key))
    return addresses


def redirect_refusal(status: int, location: str | None) -> str:
    """The message for a 3xx answer: redirects are never followed."""
    where = f" to {location}" if location else ""
    return (
        f"The endpoint answered HTTP {status}, a redirect{where}. Redirects are not followed; "
        "enter the final URL (check http vs https and the /v1 suffix)."
    )


def check_key_env_name(name: str, policy: NetPolicy) -> str:
    """`name` if the API key may be read from that environment variable, else TargetError.

    Only names that look like credentials meant for an endpoint (ending in _API_KEY,
    _KEY or _TOKEN), or those listed in ``INFERLAB_KEY_ENV_VARS``, so a visitor cannot
    send an arbitrary variable of the host's environment to a server of their choice.
    """
    text = name.strip()
    if not _ENV_NAME.match(text):
        raise TargetError(
            f"{name!r} is not an environment variable name; use letters, digits and _ "
            "(e.g. OPENAI_API_KEY)."
        )
    if policy.key_env_vars:
        if text not in policy.key_env_vars:
            raise TargetError(
                f"${text} is not one of the key variables this dashboard may use "
                f"({', '.join(policy.key_env_vars)})."
            )
    elif not text.upper().endswith(_DEFAULT_KEY_SUFFIXES):
        raise TargetError(
            f"${text} does not look like an API key variable; only names ending in "
            "_API_KEY, _KEY or _TOKEN may be used (or list it in INFERLAB_KEY_ENV_VARS)."
        )
    return text
