"""JwksCache and HttpFetcher (the invariants listed in cognito_authz/jwks.py) against real loopback JWKS
servers, faults included.

Time inside the cache is a fake clock the tests move; only the network is real (127.0.0.1), with short
deadlines wherever a server must be slow.
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import certifi
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from cognito_authz.errors import REASONS, ConfigError, InvalidKeyError, JwksError, UnknownKeyError
from cognito_authz.jwks import HttpFetcher, Jwk, JwksCache, parse_jwks
from tests.support.jwks_server import ALT_PATH, JWKS_PATH, Fault, JwksServer, RsaKey, b64url_uint, jwks_of

TTL = 600.0
COOLDOWN = 30.0
MAX_STALE = 1800.0
FETCH_TIMEOUT = 0.5  # real seconds: every slow-server test waits about this long, no more
WORKER_THREAD = "cognito-authz-jwks-fetch"


# -- fixtures and helpers ---------------------------------------------------------------------------


class FakeClock:
    """The cache's notion of time; tests move it instead of sleeping."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture(scope="module")
def k1() -> RsaKey:
    return RsaKey.generate("k1")


@pytest.fixture(scope="module")
def k2() -> RsaKey:
    return RsaKey.generate("k2")


@pytest.fixture(scope="module")
def weak() -> RsaKey:
    return RsaKey.generate("weak", bits=1024)


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    """Every server thread and every fetch worker (even one abandoned at its deadline) must end."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3.0
    while True:
        leftover = [
            t
            for t in threading.enumerate()
            if t not in before and (t.name == WORKER_THREAD or t.name.startswith("jwks-server"))
        ]
        if not leftover or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not leftover, f"threads still running after the test: {leftover}"


@pytest.fixture
def server(k1: RsaKey) -> Iterator[JwksServer]:
    with JwksServer(jwks_of(k1)) as running:
        yield running


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_cache(server: JwksServer, clock: FakeClock, **options: Any) -> JwksCache:
    settings: dict[str, Any] = {
        "allow_http": True,
        "ttl": TTL,
        "kid_miss_cooldown": COOLDOWN,
        "max_stale": MAX_STALE,
        "fetch_timeout": FETCH_TIMEOUT,
        "clock": clock,
    }
    settings.update(options)
    return JwksCache(server.url, **settings)


@contextmanager
def raises_reason(exc_type: type[Exception], reason: str) -> Iterator[pytest.ExceptionInfo[Any]]:
    assert reason in REASONS, f"{reason} is not a documented reason code"
    with pytest.raises(exc_type) as info:
        yield info
    assert info.value.reason == reason, f"expected {reason}, got {info.value!r}: {info.value}"


def assert_is_key_of(jwk: Jwk, signer: RsaKey) -> None:
    """The returned key really verifies what ``signer`` signs (and is not some other key)."""
    assert jwk.kid == signer.kid
    message = b"header.payload"
    jwk.key_for("RS256").verify(signer.sign(message), message, padding.PKCS1v15(), hashes.SHA256())


def random_kids(count: int) -> list[str]:
    return [secrets.token_urlsafe(12) for _ in range(count)]


def run_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Run ``target(i)`` on ``count`` threads released together; return results (or the exception)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def body(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    return results


# -- TTL ----------------------------------------------------------------------------------------------


def test_first_lookup_fetches_once_and_fresh_keys_cost_no_request(
    server: JwksServer, clock: FakeClock, k1: RsaKey
) -> None:
    cache = make_cache(server, clock)
    assert_is_key_of(cache.get_key("k1"), k1)
    assert server.request_count == 1
    for _ in range(50):
        cache.get_key("k1")
    clock.advance(TTL - 0.001)
    cache.get_key("k1")
    assert server.request_count == 1
    assert cache.fetch_count == 1


def test_past_ttl_costs_exactly_one_refresh(server: JwksServer, clock: FakeClock) -> None:
    cache = make_cache(server, clock)
    cache.hydrate()
    clock.advance(TTL)
    cache.get_key("k1")
    assert server.request_count == 2
    for _ in range(20):
        cache.get_key("k1")
    assert server.request_count == 2
    clock.advance(TTL)
    cache.get_key("k1")
    assert server.request_count == 3


def test_fetch_sends_json_accept_and_refuses_compression(server: JwksServer, clock: FakeClock) -> None:
    make_cache(server, clock).hydrate()
    (headers,) = server.headers
    assert headers["Accept"] == "application/json"
    assert headers["Accept-Encoding"] == "identity"


# -- rotation -----------------------------------------------------------------------------------------


def test_new_kid_is_found_by_a_kid_miss_refetch(
    server: JwksServer, clock: FakeClock, k1: RsaKey, k2: RsaKey
) -> None:
    cache = make_cache(server, clock)
    cache.hydrate()
    server.jwks = jwks_of(k1, k2)  # the issuer publishes its next key
    assert_is_key_of(cache.get_key("k2"), k2)
    assert server.request_count == 2
    assert set(cache.kids) == {"k1", "k2"}


def test_removed_key_stops_being_returned_after_the_next_refresh(
    server: JwksServer, clock: FakeClock, k1: RsaKey, k2: RsaKey
) -> None:
    server.jwks = jwks_of(k1, k2)
    cache = make_cache(server, clock)
    cache.hydrate()
    server.jwks = jwks_of(k2)  # k1 retired upstream
    assert_is_key_of(cache.get_key("k1"), k1)  # still fresh: cached, no request
    assert server.request_count == 1
    clock.advance(TTL)
    with raises_reason(UnknownKeyError, "unknown_kid"):
        cache.get_key("k1")
    # The TTL refresh of this very lookup already answered the miss: one request, not two.
    assert server.request_count == 2
    assert cache.kids == ("k2",)
    assert_is_key_of(cache.get_key("k2"), k2)
    # Replaced, not merged: k1 never comes back, even after its cooldown.
    clock.advance(COOLDOWN)
    with raises_reason(UnknownKeyError, "unknown_kid"):
        cache.get_key("k1")
    assert cache.kids == ("k2",)


def test_kid_miss_refetch_waits_for_the_cooldown(
    server: JwksServer, clock: FakeClock, k1: RsaKey, k2: RsaKey
) -> None:
    cache = make_cache(server, clock)
    cache.hydrate()
    with raises_reason(UnknownKeyError, "unknown_kid"):
        cache.get_key("k2")  # one miss refetch: k2 not published yet
    assert server.request_count == 2
    server.jwks = jwks_of(k1, k2)
    clock.advance(COOLDOWN - 0.25)
    with raises_reason(UnknownKeyError, "unknown_kid"):
        cache.get_key("k2")  # inside the cooldown: no request
    assert server.request_count == 2
    clock.advance(0.25)
    assert_is_key_of(cache.get_key("k2"), k2)
    assert server.request_count == 3


# -- flood of random kids -----------------------------------------------------------------------------


def test_flood_of_random_kids_costs_one_fetch_per_cooldown(server: JwksServer, clock: FakeClock) -> None:
    cache = make_cache(server, clock)
    counts = []
    for _ in range(3):
        for kid in random_kids(1000):
            with raises_reason(UnknownKeyError, "unknown_kid"):
                cache.get_key(kid)
        counts.append(server.request_count)
        cache.get_key("k1")  # the real key keeps working throughout
        clock.advance(COOLDOWN)
    # Cold cache: the first lookup's fetch is also its miss refetch, so 1,000 kids cost one request.
    assert counts == [1, 2, 3], counts
    assert cache.fetch_count == 3
    print(f"flood: 3 x 1000 random kids, one cooldown apart -> requests after each: {counts}")


def test_flood_from_many_threads_costs_one_fetch(server: JwksServer, clock: FakeClock) -> None:
    cache = make_cache(server, clock)
    cache.hydrate()

    def flood(_: int) -> int:
        misses = 0
        for kid in random_kids(125):
            try:
                cache.get_key(kid)
            except UnknownKeyError:
                misses += 1
        cache.get_key("k1")
        return misses

    results = run_threads(8, flood)
    assert results == [125] * 8
    assert server.request_count == 2, "hydrate + exactly one miss refetch for 1,000 kids on 8 threads"
    print(f"threaded flood: 8 threads x 125 random kids -> {server.request_count} requests (1 hydrate)")


def test_kid_miss_refetch_does_not_fetch_during_backoff(server: JwksServer, clock: FakeClock) -> None:
    cache = make_cache(server, clock, backoff_initial=100.0)
    cache.hydrate()
    server.fault = Fault.status(503)
    with raises_reason(UnknownKeyError, "unknown_kid"):
        cache.get_key("new")  # the miss refetch fails: the kid stays unknown (401), not a 503
    assert server.request_count == 2
    clock.advance(COOLDOWN)  # cooldown over, but the failure's backoff (100 s) is not
    with raises_reason(UnknownKeyError, "unknown_kid"):
        cache.get_key("new")
    assert server.request_count == 2
    cache.get_key("k1")  # fresh keys are unaffected by the failure


# -- stale-if-error, backoff ----------------------------------------------------------------------------


def test_stale_if_error_then_fail_closed_then_recover(
    server: JwksServer, clock: FakeClock, k1: RsaKey
) -> None:
    cache = make_cache(server, clock, backoff_initial=10.0, backoff_max=40.0)
    cache.hydrate()
    fetched_at = clock.now
    server.fault = Fault.status(503)
    clock.advance(TTL)
    assert_is_key_of(cache.get_key("k1"), k1)  # refresh fails: last good keys keep serving
    assert server.request_count == 2
    # Walk to just before the hard maximum age: keys keep serving, retries only as backoff allows.
    while clock.now + 10 < fetched_at + TTL + MAX_STALE:
        clock.advance(10)
        cache.get_key("k1")
    attempts = server.request_count - 1
    # Backoff 10, 20, 40, 40, ... over (MAX_STALE - 10) seconds: far fewer than one attempt per lookup.
    assert 30 <= attempts <= 50, attempts
    clock.advance(fetched_at + TTL + MAX_STALE - clock.now)
    with raises_reason(JwksError, "jwks_stale") as info:
        cache.get_key("k1")
    assert isinstance(info.value.__cause__, JwksError)
    with raises_reason(JwksError, "jwks_stale"):
        cache.get_key("k1")
    # The endpoint comes back: the first attempt after the backoff window restores service.
    server.fault = None
    clock.advance(40)
    assert_is_key_of(cache.get_key("k1"), k1)
    requests_now = server.request_count
    clock.advance(TTL - 1)
    cache.get_key("k1")
    assert server.request_count == requests_now, "fresh again: no request within the new TTL"


def test_failures_back_off_exponentially_with_no_attempt_inside_the_window(
    server: JwksServer, clock: FakeClock
) -> None:
    server.fault = Fault.status(500)
    cache = make_cache(server, clock, backoff_initial=1.0, backoff_max=8.0)
    with raises_reason(JwksError, "jwks_fetch_failed"):
        cache.get_key("k1")
    assert server.request_count == 1
    for expected_window in (1.0, 2.0, 4.0, 8.0, 8.0):
        attempts = server.request_count
        clock.advance(expected_window - 0.25)  # quarters keep the fake clock exact in binary
        with raises_reason(JwksError, "jwks_backoff") as info:
            cache.get_key("k1")
        assert info.value.__cause__ is not None
        assert server.request_count == attempts, f"attempt inside a {expected_window}s window"
        clock.advance(0.25)
        with raises_reason(JwksError, "jwks_fetch_failed"):
            cache.get_key("k1")
        assert server.request_count == attempts + 1
    server.fault = None
    clock.advance(8.0)
    cache.get_key("k1")
    # Success resets the backoff: the next failure waits the initial window again.
    server.fault = Fault.status(500)
    clock.advance(TTL)
    with raises_reason(JwksError, "jwks_fetch_failed"):
        cache.hydrate()
    clock.advance(1.0)
    cache.get_key("k1")  # stale but within max_stale; this lookup's refresh attempt is allowed
    # first failure + 5 retries + recovery + failed hydrate + the retry one initial window later
    assert server.request_count == 1 + 5 + 1 + 1 + 1


def test_long_outage_never_overflows_the_backoff(clock: FakeClock) -> None:
    calls = 0

    def down(uri: str) -> Any:
        nonlocal calls
        calls += 1
        raise JwksError("down", reason="jwks_fetch_failed")

    cache = JwksCache("https://issuer.invalid/jwks.json", fetcher=down, clock=clock, backoff_max=60.0)
    # 2**1100 seconds does not fit a float: the doubling must stop long before that.
    for _ in range(1100):
        with pytest.raises(JwksError):
            cache.get_key("k1")
        clock.advance(60.0)
    assert calls == 1100


def test_hydrate_fetches_even_inside_a_backoff_window(server: JwksServer, clock: FakeClock) -> None:
    cache = make_cache(server, clock, backoff_initial=100.0)
    server.fault = Fault.status(503)
    with raises_reason(JwksError, "jwks_fetch_failed"):
        cache.hydrate()
    server.fault = None
    cache.hydrate()  # explicit: the operator asked for it now
    assert server.request_count == 2
    cache.get_key("k1")


def test_fresh_keys_never_touch_a_failing_endpoint(server: JwksServer, clock: FakeClock) -> None:
    cache = make_cache(server, clock)
    cache.hydrate()
    server.fault = Fault.reset()
    clock.advance(TTL - 1)
    for _ in range(10):
        cache.get_key("k1")
    assert server.request_count == 1


# -- each fault becomes a JwksError with its reason -----------------------------------------------------

FAULTS = [
    pytest.param(Fault.status(500), "jwks_fetch_failed", id="http-500"),
    pytest.param(Fault.status(502), "jwks_fetch_failed", id="http-502"),
    pytest.param(Fault.status(503), "jwks_fetch_failed", id="http-503"),
    pytest.param(Fault.status(404), "jwks_fetch_failed", id="http-404"),
    pytest.param(Fault.status(204, b""), "jwks_fetch_failed", id="http-204"),
    pytest.param(Fault.reset(), "jwks_fetch_failed", id="reset"),
    pytest.param(Fault.reset(after_bytes=20), "jwks_fetch_failed", id="reset-mid-body"),
    pytest.param(Fault.html(), "jwks_invalid", id="html"),
    pytest.param(Fault.garbage(), "jwks_invalid", id="garbage"),
    pytest.param(Fault.truncated(), "jwks_invalid", id="truncated"),
    pytest.param(Fault.raw(b""), "jwks_invalid", id="empty-body"),
    pytest.param(Fault.not_jwks([]), "jwks_invalid", id="json-array"),
    pytest.param(Fault.not_jwks({}), "jwks_invalid", id="json-no-keys"),
    pytest.param(Fault.not_jwks({"keys": {}}), "jwks_invalid", id="json-keys-object"),
    pytest.param(Fault.not_jwks({"keys": "k1"}), "jwks_invalid", id="json-keys-string"),
    pytest.param(Fault.not_jwks(None), "jwks_invalid", id="json-null"),
    pytest.param(Fault.not_jwks("keys"), "jwks_invalid", id="json-string"),
    pytest.param(Fault.raw(b'{"keys": [], "keys": []}'), "jwks_invalid", id="json-duplicate-member"),
    pytest.param(Fault.raw(b'{"keys": [{"kid": "a", "e": NaN}]}'), "jwks_invalid", id="json-nan"),
    pytest.param(Fault.raw(b"[" * 100_000 + b"]" * 100_000), "jwks_invalid", id="json-deep-nesting"),
    pytest.param(Fault.raw(b'{"keys": [], "x": 1' + b"0" * 5000 + b"}"), "jwks_invalid", id="json-huge-int"),
    pytest.param(Fault.oversized(), "jwks_too_large", id="oversized-declared"),
    pytest.param(Fault.oversized(declare_length=False), "jwks_too_large", id="oversized-streamed"),
    pytest.param(Fault.oversized(50 << 20, declare_length=False), "jwks_too_large", id="oversized-50MiB"),
]


@pytest.mark.parametrize(("fault", "reason"), FAULTS)
def test_fault_becomes_jwks_error(server: JwksServer, clock: FakeClock, fault: Fault, reason: str) -> None:
    server.fault = fault
    cache = make_cache(server, clock)
    with raises_reason(JwksError, reason):
        cache.get_key("k1")
    assert server.request_count == 1
    assert cache.kids == ()
    # The same endpoint, healthy again, is used normally once the backoff window has passed.
    server.fault = None
    clock.advance(1.0)
    cache.get_key("k1")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_never_followed(server: JwksServer, clock: FakeClock, status: int) -> None:
    server.fault = Fault.redirect(server.alt_url, status=status)  # the target would serve a valid JWKS
    cache = make_cache(server, clock)
    with raises_reason(JwksError, "jwks_redirect"):
        cache.get_key("k1")
    assert server.paths == {JWKS_PATH: 1}
    assert server.paths[ALT_PATH] == 0


def test_size_cap_is_exact(server: JwksServer, clock: FakeClock) -> None:
    server.fault = Fault.oversized(1000, declare_length=False)
    cache = make_cache(server, clock, max_bytes=1000)
    with raises_reason(UnknownKeyError, "unknown_kid"):
        cache.get_key("k1")  # exactly at the cap: accepted (a valid JWKS without k1)
    server.fault = Fault.oversized(1001, declare_length=False)
    with raises_reason(JwksError, "jwks_too_large"):
        HttpFetcher(allow_http=True, max_bytes=1000, timeout=FETCH_TIMEOUT)(server.url)


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:9/jwks.json",
        "HTTP://127.0.0.1:9/jwks.json",
        "ftp://127.0.0.1:9/jwks.json",
        "file:///etc/passwd",
        "//127.0.0.1:9/jwks.json",
        "127.0.0.1:9/jwks.json",
    ],
)
def test_plain_http_needs_allow_http(clock: FakeClock, uri: str) -> None:
    cache = JwksCache(uri, clock=clock)
    with raises_reason(JwksError, "jwks_insecure_uri"):
        cache.get_key("k1")
    with raises_reason(JwksError, "jwks_insecure_uri"):
        HttpFetcher(allow_http=True)(uri.replace("http://", "gopher://"))


def test_insecure_uri_sends_nothing(server: JwksServer, clock: FakeClock) -> None:
    cache = JwksCache(server.url, clock=clock)  # a real, working endpoint, but plain http
    with raises_reason(JwksError, "jwks_insecure_uri"):
        cache.hydrate()
    assert server.request_count == 0
    assert make_cache(server, clock).get_key("k1").kid == "k1"  # allowed explicitly: fine


# -- the total deadline -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault.slow(5.0), id="slow-before-answering"),
        pytest.param(Fault.trickle(0.02), id="trickled-body"),
        pytest.param(Fault.trickle(0.02, headers=True), id="trickled-headers"),
    ],
)
def test_total_deadline_holds_against_slow_servers(
    server: JwksServer, clock: FakeClock, fault: Fault
) -> None:
    # A trickle sends a byte every 20 ms: no single read ever times out, the whole JWKS would take
    # ~20 s. Only a deadline over the whole exchange stops it.
    server.fault = fault
    cache = make_cache(server, clock)
    started = time.monotonic()
    with raises_reason(JwksError, "jwks_fetch_failed"):
        cache.get_key("k1")
    elapsed = time.monotonic() - started
    assert FETCH_TIMEOUT - 0.05 <= elapsed < FETCH_TIMEOUT + 1.0, elapsed
    assert server.request_count == 1


def test_slow_but_within_deadline_succeeds(server: JwksServer, clock: FakeClock) -> None:
    server.fault = Fault.slow(0.1)
    cache = make_cache(server, clock, fetch_timeout=2.0)
    assert cache.get_key("k1").kid == "k1"


# -- no network when keys are loaded ------------------------------------------------------------------


def test_load_jwks_from_dict_needs_no_network_and_never_expires(clock: FakeClock, k1: RsaKey) -> None:
    cache = JwksCache(clock=clock)
    cache.load_jwks(jwks_of(k1))
    assert_is_key_of(cache.get_key("k1"), k1)
    clock.advance(10 * 365 * 86400.0)
    assert_is_key_of(cache.get_key("k1"), k1)
    with raises_reason(UnknownKeyError, "unknown_kid"):
        cache.get_key("other")
    assert cache.fetch_count == 0


def test_load_jwks_from_file_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock, k1: RsaKey, k2: RsaKey
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks_of(k1)), encoding="utf-8")
    for source in (path, str(path)):
        cache = JwksCache(clock=clock)
        cache.load_jwks(source)
        assert_is_key_of(cache.get_key("k1"), k1)
    monkeypatch.setenv("TEST_JWKS_JSON", json.dumps(jwks_of(k2)))
    monkeypatch.setenv("TEST_JWKS_FILE", str(path))
    from_text, from_file = JwksCache(clock=clock), JwksCache(clock=clock)
    from_text.load_jwks(env="TEST_JWKS_JSON")
    from_file.load_jwks(env="TEST_JWKS_FILE")
    assert_is_key_of(from_text.get_key("k2"), k2)
    assert_is_key_of(from_file.get_key("k1"), k1)
    json_text = JwksCache(clock=clock)
    json_text.load_jwks("  " + json.dumps(jwks_of(k2)))
    assert json_text.kids == ("k2",)


def test_loaded_keys_with_a_uri_send_no_request_while_fresh(
    server: JwksServer, clock: FakeClock, tmp_path: Path, k1: RsaKey, k2: RsaKey
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks_of(k1)), encoding="utf-8")
    cache = make_cache(server, clock)
    cache.load_jwks(path)
    clock.advance(TTL - 1)
    for _ in range(10):
        assert_is_key_of(cache.get_key("k1"), k1)
    assert server.request_count == 0
    server.jwks = jwks_of(k2)
    clock.advance(1)
    with raises_reason(UnknownKeyError, "unknown_kid"):
        cache.get_key("k1")  # past TTL: the bundled keys are replaced by what the issuer serves now
    assert server.request_count == 1


def test_loading_keys_does_not_import_requests(tmp_path: Path, k1: RsaKey) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks_of(k1)), encoding="utf-8")
    script = (
        "import sys\n"
        "from cognito_authz.jwks import JwksCache\n"
        "cache = JwksCache('https://issuer.invalid/jwks.json')\n"
        f"cache.load_jwks({str(path)!r})\n"
        "cache.get_key('k1')\n"
        "assert 'requests' not in sys.modules, 'requests imported without a fetch'\n"
        "assert cache.fetch_count == 0\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)


def test_no_keys_and_no_uri_fails_closed(clock: FakeClock) -> None:
    cache = JwksCache(clock=clock)
    with raises_reason(JwksError, "jwks_unavailable"):
        cache.get_key("k1")
    with raises_reason(ConfigError, "invalid_config"):
        cache.hydrate()


@pytest.mark.parametrize(
    ("call", "error", "reason"),
    [
        pytest.param(lambda c: c.load_jwks(), ConfigError, "invalid_config", id="no-source"),
        pytest.param(lambda c: c.load_jwks({"keys": []}, env="X"), ConfigError, "invalid_config", id="both"),
        pytest.param(
            lambda c: c.load_jwks(env="TEST_JWKS_UNSET"), ConfigError, "invalid_config", id="env-unset"
        ),
        pytest.param(
            lambda c: c.load_jwks("/nonexistent/jwks.json"), ConfigError, "invalid_config", id="no-file"
        ),
        pytest.param(lambda c: c.load_jwks(42), ConfigError, "invalid_config", id="int-source"),
        pytest.param(lambda c: c.load_jwks("{not json"), JwksError, "jwks_invalid", id="bad-json-text"),
        pytest.param(lambda c: c.load_jwks('{"keys": 1}'), JwksError, "jwks_invalid", id="not-a-jwks"),
        pytest.param(lambda c: c.load_jwks({"k": []}), JwksError, "jwks_invalid", id="dict-not-a-jwks"),
        pytest.param(
            lambda c: c.load_jwks('{"keys": [], "keys": []}'),
            JwksError,
            "jwks_invalid",
            id="duplicate-member",
        ),
    ],
)
def test_load_jwks_errors(
    monkeypatch: pytest.MonkeyPatch, call: Callable[[JwksCache], None], error: type[Exception], reason: str
) -> None:
    monkeypatch.delenv("TEST_JWKS_UNSET", raising=False)
    cache = JwksCache()
    with raises_reason(error, reason):
        call(cache)
    assert cache.kids == ()


# -- single flight --------------------------------------------------------------------------------------


def test_single_flight_cold_start_under_16_threads(server: JwksServer, clock: FakeClock, k1: RsaKey) -> None:
    server.fault = Fault.slow(0.3)
    cache = make_cache(server, clock, fetch_timeout=3.0)
    results = run_threads(16, lambda _: cache.get_key("k1"))
    for jwk in results:
        assert isinstance(jwk, Jwk), jwk
        assert_is_key_of(jwk, k1)
    assert server.request_count == 1
    assert cache.fetch_count == 1
    print(f"single flight: 16 threads, cold cache, slow server -> {server.request_count} request")


def test_single_flight_failure_under_16_threads(server: JwksServer, clock: FakeClock) -> None:
    server.fault = Fault.status(503)
    cache = make_cache(server, clock, backoff_initial=5.0)
    results = run_threads(16, lambda _: cache.get_key("k1"))
    reasons = sorted({exc.reason for exc in results if isinstance(exc, JwksError)})
    assert all(isinstance(exc, JwksError) for exc in results), results
    assert set(reasons) <= {"jwks_fetch_failed", "jwks_backoff"}
    assert server.request_count == 1


def test_single_flight_for_a_new_kid_under_16_threads(
    server: JwksServer, clock: FakeClock, k1: RsaKey, k2: RsaKey
) -> None:
    cache = make_cache(server, clock, fetch_timeout=3.0)
    cache.hydrate()
    server.jwks = jwks_of(k1, k2)
    server.fault = Fault.slow(0.3)
    results = run_threads(16, lambda _: cache.get_key("k2"))
    for jwk in results:
        assert isinstance(jwk, Jwk), jwk
        assert_is_key_of(jwk, k2)
    assert server.request_count == 2


def test_past_ttl_readers_do_not_queue_behind_a_slow_refresh(
    server: JwksServer, clock: FakeClock, k1: RsaKey
) -> None:
    cache = make_cache(server, clock, fetch_timeout=3.0)
    cache.hydrate()
    clock.advance(TTL)
    server.fault = Fault.slow(1.0)

    def timed(_: int) -> float:
        started = time.monotonic()
        assert_is_key_of(cache.get_key("k1"), k1)
        return time.monotonic() - started

    durations = sorted(run_threads(16, timed))
    assert all(isinstance(d, float) for d in durations), durations
    # One thread refreshes (about 1 s); the other 15 answer from the past-TTL keys right away.
    assert durations[-1] >= 0.9
    assert durations[-2] < 0.5, durations
    assert server.request_count == 2
    clock.advance(1)
    cache.get_key("k1")
    assert server.request_count == 2, "the refresh installed fresh keys"


# -- parsing ----------------------------------------------------------------------------------------------


def _only(document: dict[str, Any], kid: str) -> Jwk:
    keys = parse_jwks(document)
    assert list(keys) == [kid]
    return keys[kid]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        pytest.param({"use": "enc"}, "use", id="use-enc"),
        pytest.param({"use": 1}, "use", id="use-not-string"),
        pytest.param({"kty": "oct", "k": "c2VjcmV0"}, "kty", id="kty-oct"),
        pytest.param({"kty": "EC"}, "kty", id="kty-ec"),
        pytest.param({"kty": None}, "kty", id="kty-missing"),
        pytest.param({"kty": "rsa"}, "kty", id="kty-lowercase"),
        pytest.param({"n": None}, "n or e", id="missing-n"),
        pytest.param({"e": None}, "n or e", id="missing-e"),
        pytest.param({"n": ""}, "n or e", id="empty-n"),
        pytest.param({"n": 12345}, "n or e", id="n-not-string"),
        pytest.param({"e": "AQ+B"}, "n or e", id="e-standard-base64"),
        pytest.param({"e": "AQ AB"}, "n or e", id="e-with-space"),
        pytest.param({"e": "A"}, "n or e", id="e-impossible-length"),
        pytest.param({"e": b64url_uint(1)}, "RSA numbers", id="e-one"),
        pytest.param({"e": b64url_uint(65538)}, "RSA numbers", id="e-even"),
        pytest.param({"n": b64url_uint((1 << 2048) - 2)}, "even", id="n-even"),
        pytest.param({"n": b64url_uint((1 << 16400) - 1)}, "longer", id="n-over-16384-bits"),
        pytest.param({"alg": "HS256"}, "alg", id="alg-hmac"),
        pytest.param({"alg": "RSA-OAEP"}, "alg", id="alg-encryption"),
        pytest.param({"alg": "none"}, "alg", id="alg-none"),
        pytest.param({"alg": 256}, "alg", id="alg-not-string"),
    ],
)
def test_unusable_jwk_is_kept_with_its_problem(k1: RsaKey, overrides: dict[str, Any], problem: str) -> None:
    jwk = _only({"keys": [k1.public_jwk(**overrides)]}, "k1")
    assert jwk.key is None
    assert jwk.problem is not None
    assert problem in jwk.problem, jwk.problem
    with raises_reason(InvalidKeyError, "unusable_key") as info:
        jwk.key_for("RS256")
    assert info.value.kid == "k1"


def test_weak_rsa_key_is_unusable(weak: RsaKey) -> None:
    jwk = _only(jwks_of(weak), "weak")
    assert jwk.key is None
    assert jwk.problem is not None
    assert "2048" in jwk.problem
    with raises_reason(InvalidKeyError, "unusable_key"):
        jwk.key_for("RS256")


def test_duplicate_kid_is_ambiguous_and_unusable(k1: RsaKey, k2: RsaKey) -> None:
    impostor = k2.public_jwk(kid="k1")
    for document in (jwks_of(k1, impostor), jwks_of(impostor, k1), jwks_of(k1, k1), jwks_of(k1, k1, k1)):
        jwk = _only(document, "k1")
        assert jwk.key is None
        assert jwk.problem == "duplicate kid in JWKS"
        with raises_reason(InvalidKeyError, "unusable_key"):
            jwk.key_for("RS256")


@pytest.mark.parametrize("kid", [None, 7, "", ["k1"], {"k": 1}, True], ids=repr)
def test_entry_without_a_string_kid_is_ignored(k1: RsaKey, k2: RsaKey, kid: Any) -> None:
    keys = parse_jwks(jwks_of(k1, k2.public_jwk(kid=kid)))  # None removes the member
    assert list(keys) == ["k1"]


def test_non_object_entries_are_ignored(k1: RsaKey) -> None:
    keys = parse_jwks({"keys": ["k1", 1, None, [], k1.public_jwk()]})
    assert list(keys) == ["k1"]


def test_alg_mismatch_and_algorithm_confusion_are_refused(k1: RsaKey) -> None:
    pinned = _only(jwks_of(k1), "k1")
    assert pinned.alg == "RS256"
    assert_is_key_of(pinned, k1)
    for alg in ("RS512", "PS256", "HS256", "ES256", "none", ""):
        with raises_reason(InvalidKeyError, "unusable_key"):
            pinned.key_for(alg)
    unpinned = _only({"keys": [k1.public_jwk(alg=None, use=None)]}, "k1")
    assert unpinned.key_for("RS256") is unpinned.key
    assert unpinned.key_for("PS384") is unpinned.key
    for alg in ("HS256", "ES256", "EdDSA", "none", "RSA-OAEP"):
        with raises_reason(InvalidKeyError, "unusable_key"):
            unpinned.key_for(alg)  # an RSA public key must never become an HMAC secret


def test_valid_jwk_parses_to_the_same_public_numbers(k1: RsaKey) -> None:
    jwk = _only(jwks_of(k1), "k1")
    assert jwk.key is not None
    assert jwk.problem is None
    assert jwk.key.public_numbers() == k1.private_key.public_key().public_numbers()
    assert (jwk.kty, jwk.alg, jwk.use) == ("RSA", "RS256", "sig")
    padded = k1.public_jwk(n=k1.public_jwk()["n"] + "=" * (-len(k1.public_jwk()["n"]) % 4))
    assert _only({"keys": [padded]}, "k1").key is not None


@pytest.mark.parametrize("document", [None, [], "keys", {"keys": None}, {"keys": {}}, {"Keys": []}], ids=repr)
def test_parse_jwks_rejects_what_is_not_a_jwks(document: Any) -> None:
    with raises_reason(JwksError, "jwks_invalid"):
        parse_jwks(document)


def test_lookup_with_a_bad_kid_never_fetches(server: JwksServer, clock: FakeClock) -> None:
    cache = make_cache(server, clock)
    for kid in ("", None, 7, b"k1"):
        with raises_reason(UnknownKeyError, "unknown_kid"):
            cache.get_key(kid)  # type: ignore[arg-type]
    assert server.request_count == 0


def test_unusable_key_is_returned_so_the_verifier_can_say_why(
    server: JwksServer, clock: FakeClock, k1: RsaKey
) -> None:
    server.jwks = {"keys": [k1.public_jwk(use="enc")]}
    cache = make_cache(server, clock)
    jwk = cache.get_key("k1")
    with raises_reason(InvalidKeyError, "unusable_key"):
        jwk.key_for("RS256")
    assert server.request_count == 1


# -- custom fetcher, injected session -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [RuntimeError("boom"), KeyError("keys"), RecursionError(), OSError("net"), ValueError("x")],
    ids=repr,
)
def test_custom_fetcher_exception_becomes_jwks_error(clock: FakeClock, exc: Exception) -> None:
    calls: list[str] = []

    def fetcher(uri: str) -> Any:
        calls.append(uri)
        raise exc

    cache = JwksCache("https://issuer.example/jwks.json", fetcher=fetcher, clock=clock)
    with raises_reason(JwksError, "jwks_fetch_failed") as info:
        cache.get_key("k1")
    assert info.value.__cause__ is exc
    assert calls == ["https://issuer.example/jwks.json"]
    with raises_reason(JwksError, "jwks_backoff"):
        cache.get_key("k1")  # the failure counts for backoff like any other
    assert len(calls) == 1


def test_custom_fetcher_document_is_parsed_strictly(clock: FakeClock, k1: RsaKey) -> None:
    documents: list[Any] = [{"keys": "nope"}, jwks_of(k1)]
    cache = JwksCache(
        "https://issuer.example/jwks.json",
        fetcher=lambda uri: documents.pop(0),
        clock=clock,
        backoff_initial=0,
    )
    with raises_reason(JwksError, "jwks_invalid"):
        cache.get_key("k1")
    assert_is_key_of(cache.get_key("k1"), k1)


class ExplodingMapping(dict[str, Any]):
    def get(self, key: str, default: Any = None) -> Any:
        raise RuntimeError("lazy document failed to load")


def test_custom_fetcher_document_that_breaks_when_read_is_jwks_invalid(clock: FakeClock) -> None:
    cache = JwksCache("https://issuer.example/jwks.json", fetcher=lambda uri: ExplodingMapping(), clock=clock)
    with raises_reason(JwksError, "jwks_invalid") as info:
        cache.get_key("k1")
    assert isinstance(info.value.__cause__, RuntimeError)


class CountingSession(requests.Session):
    """A real requests.Session that counts what it sends (as a proxy or custom CA setup would see it)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []
        self.redirects_allowed: list[Any] = []
        self.headers["User-Agent"] = "counting-session/1"

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(str(request.url))
        self.redirects_allowed.append(kwargs.get("allow_redirects"))
        return super().send(request, **kwargs)


def test_injected_session_is_used_and_left_open(server: JwksServer, clock: FakeClock, k1: RsaKey) -> None:
    with CountingSession() as session:
        cache = make_cache(server, clock, session=session)
        assert_is_key_of(cache.get_key("k1"), k1)
        clock.advance(TTL)
        cache.get_key("k1")
        assert session.sent == [server.url, server.url]
        assert session.redirects_allowed == [False, False]
        assert [h["User-Agent"] for h in server.headers] == ["counting-session/1"] * 2
        # The cache does not close a session it was lent: the caller can keep using it.
        assert session.get(server.url, timeout=2).json() == server.jwks


@pytest.fixture
def tls_server(k1: RsaKey) -> Iterator[JwksServer]:
    with JwksServer(jwks_of(k1), tls=True) as running:
        yield running


def test_https_with_a_custom_ca_through_an_injected_session(
    tls_server: JwksServer, clock: FakeClock, k1: RsaKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_server.url.startswith("https://")
    # A machine-wide bundle must not silently replace the session's CA (psf/requests#3829).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    with requests.Session() as session:
        session.verify = tls_server.ca_file  # the "custom CA" use of an injected session
        cache = JwksCache(tls_server.url, session=session, clock=clock, fetch_timeout=2.0)  # no allow_http
        assert_is_key_of(cache.get_key("k1"), k1)
    assert tls_server.request_count == 1


def test_https_certificate_is_verified_by_default(tls_server: JwksServer, clock: FakeClock) -> None:
    cache = JwksCache(tls_server.url, clock=clock, fetch_timeout=2.0)
    with raises_reason(JwksError, "jwks_fetch_failed") as info:
        cache.get_key("k1")
    assert isinstance(info.value.__cause__, requests.exceptions.SSLError)
    assert tls_server.request_count == 0  # the handshake failed: no request was ever sent


def test_total_deadline_holds_over_tls(tls_server: JwksServer, clock: FakeClock) -> None:
    tls_server.fault = Fault.trickle(0.02)
    with requests.Session() as session:
        session.verify = tls_server.ca_file
        cache = JwksCache(tls_server.url, session=session, clock=clock, fetch_timeout=FETCH_TIMEOUT)
        started = time.monotonic()
        with raises_reason(JwksError, "jwks_fetch_failed"):
            cache.get_key("k1")
        assert time.monotonic() - started < FETCH_TIMEOUT + 1.0
        # The abandoned worker is woken (its TLS socket shut down) and ends without the server's help.
        deadline = time.monotonic() + 2.0
        while any(t.name == WORKER_THREAD for t in threading.enumerate()) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not any(t.name == WORKER_THREAD for t in threading.enumerate())


def test_fetcher_and_session_are_exclusive() -> None:
    with requests.Session() as session, raises_reason(ConfigError, "invalid_config"):
        JwksCache("https://issuer.example/jwks.json", fetcher=lambda uri: {}, session=session)


# -- configuration ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"ttl": -1},
        {"kid_miss_cooldown": -0.5},
        {"max_stale": -1},
        {"backoff_initial": -1},
        {"backoff_max": -1},
        {"ttl": float("nan")},
        {"max_stale": float("nan")},
        {"ttl": "3600"},
        {"ttl": None},
        {"kid_miss_cooldown": True},
        {"fetch_timeout": 0},
        {"fetch_timeout": -1},
        {"fetch_timeout": float("inf")},
        {"fetch_timeout": float("nan")},
        {"max_bytes": 0},
        {"max_bytes": -1},
        {"max_bytes": 1.5},
        {"max_bytes": True},
        {"fetcher": "not callable"},
    ],
    ids=repr,
)
def test_bad_configuration_is_a_config_error(options: dict[str, Any]) -> None:
    with raises_reason(ConfigError, "invalid_config"):
        JwksCache("https://issuer.example/jwks.json", **options)


@pytest.mark.parametrize("uri", ["", 42, b"https://issuer.example/jwks.json"], ids=repr)
def test_bad_jwks_uri_is_a_config_error(uri: Any) -> None:
    with raises_reason(ConfigError, "invalid_config"):
        JwksCache(uri)


def test_zero_durations_are_allowed(server: JwksServer, clock: FakeClock) -> None:
    cache = make_cache(server, clock, ttl=0, kid_miss_cooldown=0, backoff_initial=0, max_stale=0)
    cache.get_key("k1")
    cache.get_key("k1")
    assert server.request_count == 2  # ttl 0: every lookup refreshes


def test_every_reason_raised_here_is_documented() -> None:
    jwks_reasons = {code for code, (cls, _) in REASONS.items() if cls is JwksError}
    assert {
        "jwks_unavailable",
        "jwks_fetch_failed",
        "jwks_invalid",
        "jwks_too_large",
        "jwks_redirect",
        "jwks_insecure_uri",
        "jwks_stale",
        "jwks_backoff",
    } <= jwks_reasons


def test_b64url_helper_round_trips() -> None:
    for value in (1, 255, 256, 65537, (1 << 2048) - 1):
        text = b64url_uint(value)
        assert "=" not in text
        assert int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big") == value


# -- properties -----------------------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=20,
)
_jwk_like = st.fixed_dictionaries(
    {},
    optional={
        "kid": st.one_of(st.text(max_size=4), st.integers(), st.none()),
        "kty": st.sampled_from(["RSA", "oct", "EC", 1, None]),
        "use": st.sampled_from(["sig", "enc", None, 0]),
        "alg": st.sampled_from(["RS256", "HS256", "PS512", None, 7]),
        "n": st.one_of(st.text(max_size=12), st.integers()),
        "e": st.sampled_from(["AQAB", "AQ", "Aw", "", "A", 3]),
    },
)


_jwks_like = st.builds(lambda entries: {"keys": entries}, st.lists(_jwk_like | _json_values, max_size=6))


@given(st.one_of(_json_values, _jwks_like))
def test_parse_jwks_never_raises_anything_but_jwks_invalid(document: Any) -> None:
    try:
        keys = parse_jwks(document)
    except JwksError as exc:
        error: JwksError | None = exc
        keys = {}
    else:
        error = None
    assert error is None or error.reason == "jwks_invalid"
    for kid, jwk in keys.items():
        assert isinstance(kid, str)
        assert kid
        assert jwk.kid == kid
        assert (jwk.key is None) != (jwk.problem is None)
        if jwk.key is None:
            with raises_reason(InvalidKeyError, "unusable_key"):
                jwk.key_for("RS256")


@functools.cache
def _pool_jwks() -> dict[str, dict[str, Any]]:
    return {kid: RsaKey.generate(kid).public_jwk() for kid in ("k1", "k2", "k3")}


class CacheMachine(RuleBasedStateMachine):
    """Random schedules of time, rotation, outages and lookups against a reference model of the policy:
    atomic replacement, the hard maximum age, the backoff windows, and refresh after the TTL."""

    TTL, COOLDOWN, MAX_STALE, BACKOFF, BACKOFF_MAX = 100.0, 10.0, 300.0, 2.0, 16.0

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.upstream: set[str] = {"k1"}
        self.failing = False
        self.last_good: tuple[float, frozenset[str]] | None = None
        self.failures = 0
        self.retry_at = float("-inf")
        self.violations: list[str] = []
        self.cache = JwksCache(
            "https://issuer.example/jwks.json",
            fetcher=self.fetch,
            clock=self.clock,
            ttl=self.TTL,
            kid_miss_cooldown=self.COOLDOWN,
            max_stale=self.MAX_STALE,
            backoff_initial=self.BACKOFF,
            backoff_max=self.BACKOFF_MAX,
        )

    def fetch(self, uri: str) -> Any:
        now = self.clock()
        if now < self.retry_at:
            # Recorded, not asserted: the cache turns whatever its fetcher raises into a JwksError.
            self.violations.append(f"fetch at {now} inside the backoff window ending {self.retry_at}")
        if self.failing:
            self.failures += 1
            self.retry_at = now + min(self.BACKOFF_MAX, self.BACKOFF * 2 ** (self.failures - 1))
            raise JwksError("down", reason="jwks_fetch_failed")
        self.failures, self.retry_at = 0, float("-inf")
        self.last_good = (now, frozenset(self.upstream))
        pool = _pool_jwks()
        return {"keys": [pool[kid] for kid in sorted(self.upstream)]}

    @rule(seconds=st.sampled_from([0.0, 1.0, 2.0, 9.0, 10.0, 50.0, 99.0, 100.0, 250.0, 400.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(kids=st.sets(st.sampled_from(["k1", "k2", "k3"])))
    def rotate(self, kids: set[str]) -> None:
        self.upstream = kids

    @rule(failing=st.booleans())
    def outage(self, failing: bool) -> None:
        self.failing = failing

    @rule(kid=st.sampled_from(["k1", "k2", "k3", "zz"]))
    def lookup(self, kid: str) -> None:
        now = self.clock()
        before = self.last_good
        must_refresh = (
            not self.failing
            and now >= self.retry_at
            and (before is None or now - before[0] >= self.TTL)
            and kid in self.upstream
        )
        try:
            jwk: Jwk | None = self.cache.get_key(kid)
        except (UnknownKeyError, JwksError) as exc:
            error: UnknownKeyError | JwksError | None = exc
            jwk = None
        else:
            error = None
        if isinstance(error, UnknownKeyError):
            assert not must_refresh, "healthy upstream past the TTL, yet the published kid was not found"
        elif isinstance(error, JwksError):
            assert not must_refresh, f"healthy upstream past the TTL, yet {error}"
            if error.reason == "jwks_stale":
                assert before is not None
                assert now - before[0] >= self.TTL + self.MAX_STALE
            else:
                assert error.reason in {"jwks_fetch_failed", "jwks_backoff"}, error
                assert self.last_good is None or now - self.last_good[0] >= self.TTL + self.MAX_STALE
        else:
            assert jwk is not None
            assert jwk.kid == kid
            assert self.last_good is not None
            fetched_at, kids = self.last_good
            assert kid in kids, "a key from an older key set was returned (not atomically replaced)"
            assert now - fetched_at < self.TTL + self.MAX_STALE, "served keys past their maximum age"

    @invariant()
    def no_fetch_inside_a_backoff_window(self) -> None:
        assert not self.violations

    @invariant()
    def cache_holds_the_last_good_set(self) -> None:
        expected = () if self.last_good is None else tuple(sorted(self.last_good[1]))
        assert tuple(sorted(self.cache.kids)) == expected


TestCacheMachine = CacheMachine.TestCase
TestCacheMachine.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)
