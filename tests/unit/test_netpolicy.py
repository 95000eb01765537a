"""Target validation and the shared-deployment policy (allow-list, forbidden addresses, limits)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from inferlab.netpolicy import (
    Limits,
    NetPolicy,
    PolicyError,
    TargetError,
    check_key_env_name,
    check_target,
    load_policy,
    parse_target,
    redirect_refusal,
)

OPEN = NetPolicy()


def fake_dns(table: dict[str, Sequence[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str) -> Sequence[str]:
        if host not in table:
            raise OSError("name does not resolve")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "empty"),
        ("localhost:8000/v1", "http:// or https://"),
        ("ftp://example.com/v1", "http:// or https://"),
        ("http://", "no host"),
        ("http://example.com:99999/v1", "invalid port"),
        ("http://exa mple.com/v1", "spaces"),
        ("http://user:pw@example.com/v1", "user name or password"),
        ("http://example.com/v1?key=abc", "query"),
    ],
)
def test_malformed_url_gets_a_message_naming_the_problem(url: str, words: str) -> None:
    with pytest.raises(TargetError, match=words.replace("(", r"\(")) as err:
        parse_target(url)
    assert "e.g." in str(err.value) or "API key field" in str(err.value)


def test_good_url_is_parsed_with_default_ports() -> None:
    t = parse_target(" https://API.Example.com/v1 ")
    assert (t.scheme, t.host, t.port) == ("https", "api.example.com", 443)
    assert parse_target("http://[::1]:8000/v1").host == "::1"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://169.254.1.7:8000/v1",
        "http://[fe80::1]:8000/v1",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.google.internal/computeMetadata/v1",
        "http://100.100.100.200/latest",
    ],
)
def test_link_local_and_metadata_are_refused_even_without_allow_list(url: str) -> None:
    with pytest.raises(TargetError, match="never contact"):
        check_target(url, OPEN, resolve=fake_dns({}))


def test_host_name_resolving_to_link_local_is_refused() -> None:
    dns = fake_dns({"innocent.example": ["93.184.216.34", "169.254.169.254"]})
    with pytest.raises(TargetError, match=r"innocent\.example \(169\.254\.169\.254\)"):
        check_target("http://innocent.example/v1", OPEN, resolve=dns)


def test_without_allow_list_any_other_target_is_allowed() -> None:
    dns = fake_dns({"gpu-box.lan": ["10.1.2.3"]})
    assert check_target("http://gpu-box.lan:8000/v1", OPEN, resolve=dns).port == 8000
    assert check_target("http://127.0.0.1:9/v1", OPEN, resolve=dns).host == "127.0.0.1"
    # an unresolvable name is left to the preflight, which says it does not resolve
    assert check_target("http://nowhere.invalid/v1", OPEN, resolve=dns).host == "nowhere.invalid"


def test_allow_list_entries_of_every_kind() -> None:
    policy = NetPolicy(
        allowed=(
            "api.openai.com",
            "gpu-box.lan:8000",
            "*.internal.example",
            "https://proxy.example/team-a",
            "10.20.0.0/16",
        ),
        source="INFERLAB_ALLOWED_TARGETS",
    )
    dns = fake_dns(
        {
            "api.openai.com": ["1.2.3.4"],
            "gpu-box.lan": ["10.9.9.9"],
            "vllm.internal.example": ["10.5.5.5"],
            "proxy.example": ["5.6.7.8"],
            "box.corp": ["10.20.3.4"],
            "evil.example": ["6.6.6.6"],
        }
    )
    for ok in (
        "https://api.openai.com/v1",
        "http://gpu-box.lan:8000/v1",
        "http://vllm.internal.example:8000/v1",
        "https://proxy.example/team-a/v1",
        "http://box.corp:8000/v1",
        "http://10.20.0.7:8000/v1",
    ):
        check_target(ok, policy, resolve=dns)
    for refused in (
        "http://gpu-box.lan:9000/v1",
        "https://proxy.example/team-b/v1",
        "https://proxy.example/team-ab/v1",
        "http://evil.example/v1",
        "http://internal.example/v1",
        "http://127.0.0.1:8000/v1",
    ):
        with pytest.raises(TargetError, match="not on this dashboard's list") as err:
            check_target(refused, policy, resolve=dns)
        assert "INFERLAB_ALLOWED_TARGETS" in str(err.value)


def test_the_builtin_simulator_is_allowed_despite_the_allow_list() -> None:
    policy = NetPolicy(allowed=("api.openai.com",))
    sim = "http://127.0.0.1:43210/v1"
    check_target(sim, policy, also_allowed=[sim], resolve=fake_dns({}))
    with pytest.raises(TargetError):
        check_target("http://127.0.0.1:43211/v1", policy, also_allowed=[sim], resolve=fake_dns({}))


def test_policy_from_environment_wins_over_secrets(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[inferlab]\nallowed_targets = ["a.example"]\nmax_requests = 50\n')
    from_file = load_policy({}, secrets_file=secrets)
    assert from_file.allowed == ("a.example",) and from_file.limits.max_requests == 50
    assert "secrets.toml" in from_file.source
    env = {"INFERLAB_ALLOWED_TARGETS": "b.example, c.example:8000", "INFERLAB_MAX_CONCURRENCY": "8"}
    from_env = load_policy(env, secrets_file=secrets)
    assert from_env.allowed == ("b.example", "c.example:8000")
    assert from_env.limits.max_concurrency == 8 and from_env.limits.max_requests == 50
    assert load_policy({}, secrets_file=tmp_path / "missing.toml") == NetPolicy()
    assert load_policy({}, secrets={"allowed_targets": "x.example"}).allowed == ("x.example",)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"INFERLAB_MAX_REQUESTS": "lots"}, "not a number"),
        ({"INFERLAB_MAX_CONCURRENCY": "-1"}, "positive"),
        ({"INFERLAB_MAX_RUNNING_JOBS": "1.5"}, "whole"),
        ({"INFERLAB_ALLOWED_TARGETS": "ftp://x"}, "not an http"),
        ({"INFERLAB_ALLOWED_TARGETS": "10.0.0.0/99"}, "not a network"),
        ({"INFERLAB_ALLOWED_TARGETS": "host:http"}, "invalid port"),
    ],
)
def test_bad_policy_settings_name_the_setting(env: dict[str, str], words: str) -> None:
    with pytest.raises(PolicyError, match=words):
        load_policy(env, secrets_file=None)


def test_default_limits_are_finite() -> None:
    limits = Limits()
    assert limits.max_concurrency > 0 and limits.max_requests > 0 and limits.max_running_jobs > 0


def test_redirect_message_says_it_is_not_followed() -> None:
    msg = redirect_refusal(301, "https://elsewhere.example/v1")
    assert "not followed" in msg and "elsewhere.example" in msg


def test_key_env_names_are_limited_to_credential_like_variables() -> None:
    assert check_key_env_name(" OPENAI_API_KEY ", OPEN) == "OPENAI_API_KEY"
    assert check_key_env_name("HF_TOKEN", OPEN) == "HF_TOKEN"
    for bad, words in (
        ("HOME", "does not look like"),
        ("1BAD", "not an environment"),
        ("A-B", "not an"),
    ):
        with pytest.raises(TargetError, match=words):
            check_key_env_name(bad, OPEN)
    listed = NetPolicy(key_env_vars=("TEAM_SECRET",))
    assert check_key_env_name("TEAM_SECRET", listed) == "TEAM_SECRET"
    with pytest.raises(TargetError, match="not one of"):
        check_key_env_name("OPENAI_API_KEY", listed)


@pytest.mark.parametrize(
    "host", ["2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.169.254."]
)
def test_obfuscated_metadata_addresses_are_refused(host: str) -> None:
    # numeric host forms are parsed by the system resolver locally, without DNS traffic;
    # httpx itself refuses the octal form, so nothing could connect to it either
    with pytest.raises(TargetError, match=r"never contact|cannot be used"):
        check_target(f"http://{host}/latest/meta-data", OPEN)


def system_like_dns(table: Mapping[str, Sequence[str]]):  # type: ignore[no-untyped-def]
    """A resolver that, like socket.getaddrinfo, encodes a non-ASCII name with IDNA 2003."""

    def resolve(host: str) -> Sequence[str]:
        name = host.encode("idna").decode("ascii")
        if name not in table:
            raise OSError("name does not resolve")
        return table[name]

    return resolve


# The hosts file of issue 18: Python's IDNA 2003 spelling and httpx's IDNA 2008 one differ.
IDNA_HOSTS = {"strasse.evil.test": ["127.0.0.2"], "xn--strae-oqa.evil.test": ["127.0.0.1"]}


def test_an_internationalised_name_is_checked_as_httpx_spells_it() -> None:
    policy = NetPolicy(allowed=("127.0.0.2/32",), source="INFERLAB_ALLOWED_TARGETS")
    dns = system_like_dns(IDNA_HOSTS)
    with pytest.raises(
        TargetError,
        match=r"straße\.evil\.test:8000 \(sent as xn--strae-oqa\.evil\.test\) is not on",
    ):
        check_target("http://straße.evil.test:8000/v1", policy, resolve=dns)
    # the name that does resolve into the allowed network is allowed, with that address
    ok = check_target("http://strasse.evil.test:8000/v1", policy, resolve=dns)
    assert ok.addresses == ("127.0.0.2",)


def test_an_internationalised_name_resolving_to_metadata_is_refused() -> None:
    dns = system_like_dns(
        {"strasse.evil.test": ["127.0.0.1"], "xn--strae-oqa.evil.test": ["169.254.169.254"]}
    )
    with pytest.raises(TargetError, match="never contact"):
        check_target("http://straße.evil.test/v1", OPEN, resolve=dns)


def test_host_entries_match_the_name_httpx_connects_to() -> None:
    policy = NetPolicy(allowed=("straße.example", "*.bücher.example"))
    dns = fake_dns({})
    assert check_target("http://xn--strae-oqa.example/v1", policy, resolve=dns).host == (
        "xn--strae-oqa.example"
    )
    check_target("http://api.bücher.example/v1", policy, resolve=dns)
    with pytest.raises(TargetError, match="not on"):
        check_target("http://strasse.example/v1", policy, resolve=dns)


def test_checked_addresses_travel_with_the_target_as_pins() -> None:
    dns = fake_dns({"gpu-box.lan": ["10.1.2.3", "fd00::7"]})
    target = check_target("http://GPU-box.lan.:8000/v1", OPEN, resolve=dns)
    assert target.addresses == ("10.1.2.3", "fd00::7")
    assert target.pins.addresses("gpu-box.lan", 8000) == ("10.1.2.3", "fd00::7")
    assert target.pins.addresses("gpu-box.lan.", 8000) == ("10.1.2.3", "fd00::7")
    assert target.pins.addresses("gpu-box.lan", 8001) is None
    assert target.pins.addresses("other.lan", 8000) is None
    # a name that does not resolve is pinned to nothing: the connection is refused
    nowhere = check_target("http://nowhere.invalid/v1", OPEN, resolve=dns)
    assert nowhere.pins.addresses("nowhere.invalid", 80) == ()


def test_ipv6_entries_still_match() -> None:
    for entry in ("[::1]:8000", "::1", "http://[::1]:8000/v1", "::1/128"):
        policy = load_policy({"INFERLAB_ALLOWED_TARGETS": entry}, secrets_file=None)
        assert check_target("http://[::1]:8000/v1", policy).addresses == ("::1",)


@pytest.mark.parametrize(
    "entry", ["https://ＡＢＣ.example/v1", "ＡＢＣ.example", "*.ＡＢＣ.example"]
)
def test_an_entry_httpx_cannot_use_names_the_setting(entry: str) -> None:
    with pytest.raises(PolicyError, match=r"INFERLAB_ALLOWED_TARGETS.*cannot be used"):
        load_policy({"INFERLAB_ALLOWED_TARGETS": entry}, secrets_file=None)


def test_a_host_name_httpx_cannot_use_is_refused_with_a_message() -> None:
    with pytest.raises(TargetError, match="cannot be used"):
        check_target("http://ＡＢＣ.example/v1", OPEN, resolve=fake_dns({}))


@pytest.mark.parametrize(
    "path",
    [
        "/v1/../../admin",
        "/v1/../admin",
        "/v1/%2e%2e/%2E%2E/admin",
        "/v1/%252e%252e/admin",
        "/v1/./../admin",
        "/v1//..//../admin",
        "/v1/%2f..%2f..%2fadmin",
        "/v1\\..\\admin",
        "/v1/..;/..;/admin",
        "/v1/.;x/..;jsessionid=1/../admin",
        "/v1x",
        "/admin/v1",
    ],
)
def test_a_prefix_entry_confines_the_path(path: str) -> None:
    policy = NetPolicy(allowed=("http://127.0.0.2:8000/v1",))
    with pytest.raises(TargetError, match="not on"):
        check_target(f"http://127.0.0.2:8000{path}", policy)


@pytest.mark.parametrize("path", ["/v1", "/v1/", "/v1/./", "//v1//", "/v1/a/..", "/v1/%61"])
def test_paths_inside_a_prefix_entry_stay_allowed(path: str) -> None:
    policy = NetPolicy(allowed=("http://127.0.0.2:8000/v1/",))
    assert check_target(f"http://127.0.0.2:8000{path}", policy).port == 8000


@pytest.mark.parametrize(
    "url",
    ["http://user:pw@127.0.0.1:8000/v1", "http://user@127.0.0.1/v1", "http://:pw@127.0.0.1/v1"],
)
def test_user_info_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(TargetError, match="API key field") as err:
        parse_target(url)
    assert "pw" not in str(err.value) and "user@" not in str(err.value)


def test_shared_probe_list_is_off_unless_the_deployment_opts_in() -> None:
    assert not load_policy(environ={}, secrets_file=None).shared_probes
    assert load_policy(environ={"INFERLAB_SHARED_PROBES": "true"}, secrets_file=None).shared_probes
    assert load_policy(environ={}, secrets={"shared_probes": True}).shared_probes
    with pytest.raises(PolicyError, match="INFERLAB_SHARED_PROBES='maybe' must be true or false"):
        load_policy(environ={"INFERLAB_SHARED_PROBES": "maybe"}, secrets_file=None)
