"""JWKS fault injection through the verifier and the adapters: the JWKS cache contract
(``docs/verifier.md``, ``docs/architecture.md``) under every fault.

A real ``CognitoVerifier`` fetches from the fault-injecting loopback server of ``tests/support``. For each
fault (5xx/4xx, connection reset before and during the body, HTML, binary garbage, truncated JSON, an
empty body, JSON that is no JWKS, oversized with and without Content-Length, redirects to a URL that
would serve valid keys, a server slower than the deadline, bodies and headers trickled a byte at a time)
one scenario walks the cache's whole life cycle and checks each invariant:

A. cold start under the fault: ``verify`` fails closed with ``JwksError`` (the Lambda authorizer raises
   ``AuthorizerUnavailable``, ``@protect`` answers 503); one fetch, then nothing during the backoff;
B. the server recovers: the first verify after the backoff fetches and succeeds;
C. the fault returns after the TTL: stale-if-error, the last good keys keep verifying up to
   ``ttl + max_stale`` after they were fetched, with one failed refresh and no retry inside the backoff
   (unknown kids meanwhile are ``UnknownKeyError``, and fetch nothing);
D. past ``ttl + max_stale``: fail closed again (``jwks_stale``), adapters never Allow;
E. recovery: once the backoff has passed, the next verify fetches and succeeds.

Fetches are counted at the server and compared with the bound the cache promises (one per phase
A, B, C and E, at most one more in D). Scenarios run five at a time, each with its own server and
verifier, because the verifier keeps the cache's default exponential backoff (first retry after 1 s),
which ``CognitoVerifier`` does not expose; durations are real and short, and outcomes near a boundary
accept either side.

Separate tests rotate keys mid-run (a new kid is found by one miss refetch, a removed key dies at the
next refresh even for cached tokens, a key replaced under the same kid stops verifying) and serve
parseable but poisoned key sets (keys turned ``use: enc``, ``kty: oct`` with an HMAC secret, duplicate
kids, an empty set, the 1 MiB cap).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests  # noqa: F401 - imported once here, not by 19 fetch threads racing their deadlines

from cognito_authz import CognitoVerifier
from cognito_authz.adapters.handler import protect
from cognito_authz.adapters.lambda_authorizer import AuthorizerUnavailable, LambdaAuthorizer
from cognito_authz.errors import (
    InvalidKeyError,
    InvalidSignatureError,
    JwksError,
    TokenError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal
from cognito_authz.token import b64url_encode
from cognito_authz.verifier import cognito_issuer
from tests.hardening.campaign import TALLY, assert_our_error, mint, scaled
from tests.support.jwks_server import ALT_PATH, Fault, JwksServer, RsaKey, jwks_of

POOL = "eu-west-1_Faults001"
ISSUER = cognito_issuer(POOL)
CLIENT = "faultsclient"
TTL = 0.3
MAX_STALE = 0.8
COOLDOWN = 0.2
FETCH_TIMEOUT = 0.5
BACKOFF = 1.0  # JwksCache's default backoff_initial, which CognitoVerifier keeps
ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders/42"
POLICY = Policy.from_dict(
    {
        "version": 1,
        "rules": [{"id": "read", "routes": ["GET /orders/{id}"], "when": {"scopes": ["orders/read"]}}],
    }
)

FAULTS: dict[str, tuple[Callable[[JwksServer], Fault], str]] = {
    "http-500": (lambda s: Fault.status(500), "jwks_fetch_failed"),
    "http-503": (lambda s: Fault.status(503), "jwks_fetch_failed"),
    "http-404": (lambda s: Fault.status(404), "jwks_fetch_failed"),
    "http-429": (lambda s: Fault.status(429), "jwks_fetch_failed"),
    "reset": (lambda s: Fault.reset(), "jwks_fetch_failed"),
    "reset-mid-body": (lambda s: Fault.reset(after_bytes=40), "jwks_fetch_failed"),
    "html": (lambda s: Fault.html(), "jwks_invalid"),
    "garbage": (lambda s: Fault.garbage(), "jwks_invalid"),
    "truncated": (lambda s: Fault.truncated(), "jwks_invalid"),
    "empty-body": (lambda s: Fault.raw(b""), "jwks_invalid"),
    "not-a-jwks": (lambda s: Fault.not_jwks({"keys": {"kid": "k1"}}), "jwks_invalid"),
    "oversized-declared": (lambda s: Fault.oversized(), "jwks_too_large"),
    "oversized-streamed": (lambda s: Fault.oversized(declare_length=False), "jwks_too_large"),
    "redirect-301": (lambda s: Fault.redirect(s.alt_url, status=301), "jwks_redirect"),
    "redirect-302": (lambda s: Fault.redirect(s.alt_url), "jwks_redirect"),
    "redirect-307": (lambda s: Fault.redirect(s.alt_url, status=307), "jwks_redirect"),
    "slow": (lambda s: Fault.slow(3.0), "jwks_fetch_failed"),
    "trickle-body": (lambda s: Fault.trickle(0.05), "jwks_fetch_failed"),
    "trickle-headers": (lambda s: Fault.trickle(0.05, headers=True), "jwks_fetch_failed"),
}


@pytest.fixture(scope="module")
def keys() -> dict[str, RsaKey]:
    return {name: RsaKey.generate(name) for name in ("k1", "k2", "k3")}


def make_verifier(server: JwksServer, **options: Any) -> CognitoVerifier:
    settings: dict[str, Any] = {
        "client_id": CLIENT,
        "token_use": "access",
        "jwks_uri": server.url,
        "allow_http": True,
        "jwks_ttl": TTL,
        "kid_miss_cooldown": COOLDOWN,
        "max_stale": MAX_STALE,
        "fetch_timeout": FETCH_TIMEOUT,
    }
    settings.update(options)
    return CognitoVerifier(POOL, **settings)


def attempt(verifier: CognitoVerifier, token: str) -> tuple[str, float, float]:
    """``("ok" | reason, started, ended)``: only our errors may come out of verify."""
    started = time.monotonic()
    try:
        verifier.verify(token)
    except (TokenError, JwksError) as exc:
        assert_our_error(exc, TokenError, JwksError)
        result = f"{'jwks' if isinstance(exc, JwksError) else 'token'}:{exc.reason}"
    else:
        result = "ok"
    return result, started, time.monotonic()


def sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def adapters_fail_closed(verifier: CognitoVerifier, token: str) -> None:
    """Keys unavailable: the authorizer raises AuthorizerUnavailable, @protect answers 503."""
    authorizer = LambdaAuthorizer(verifier, POLICY)
    with pytest.raises(AuthorizerUnavailable):
        authorizer({"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": ARN}, None)

    @protect(verifier=verifier, policy=POLICY)
    def handler(event: Any, context: Any, *, principal: Principal) -> dict[str, Any]:
        raise AssertionError("the handler ran while keys were unavailable")

    event = {  # a REST proxy event carries its route (resource) and path parameters
        "httpMethod": "GET",
        "resource": "/orders/{orderId}",
        "path": "/orders/42",
        "pathParameters": {"orderId": "42"},
        "headers": {"Authorization": f"Bearer {token}"},
        "requestContext": {"stage": "prod"},
    }
    assert handler(event, None)["statusCode"] == 503
    TALLY.add("operations:faults.adapters_failed_closed", 2)


@dataclass
class Record:
    """What one fault scenario observed (phases A to E), for the assertions and the figures."""

    name: str
    attempts: int = 0
    requests: int = 0
    deadline_misses: int = 0
    verifies: int = 0
    stale_served: int = 0
    faults: int = 0


def first_failure(result: str, started: float, ended: float, reason: str) -> bool:
    """The first fetch under a fault fails closed with the fault's reason, or, on a host so loaded that
    the fetch ran out of its deadline first, with the deadline's reason after the whole deadline."""
    if result == f"jwks:{reason}":
        return True
    return result == "jwks:jwks_fetch_failed" and ended - started >= FETCH_TIMEOUT - 0.01


def until_ok(verifier: CognitoVerifier, token: str, deadline: float, record: Record) -> tuple[float, float]:
    """Poll ``verify`` until it succeeds (the server is healthy again); every failure must be closed.

    A failed poll that lasted the whole fetch deadline was a fetch attempt that missed it (a loaded
    host): ``record.deadline_misses`` lets the fetch bound allow for it."""
    while True:
        result, started, ended = attempt(verifier, token)
        record.verifies += 1
        if result == "ok":
            return started, ended
        assert result.startswith("jwks:"), result
        if ended - started >= FETCH_TIMEOUT - 0.01:
            record.deadline_misses += 1
        assert ended < deadline, f"no recovery: {result}"
        time.sleep(0.05)


def run_scenario(name: str, keys: dict[str, RsaKey], cycles: int) -> Record:
    make_fault, first_reason = FAULTS[name]
    record = Record(name)
    k1 = keys["k1"]
    token = mint(k1, ISSUER, CLIENT)
    unknown = mint(keys["k3"], ISSUER, CLIENT)  # k3 is never published in this scenario
    with JwksServer(jwks_of(k1)) as server:
        verifier = make_verifier(server)
        cache = verifier.jwks_cache()
        fault = make_fault(server)

        # A. cold start under the fault: fail closed, one fetch attempt, none inside the backoff.
        server.fault = fault
        result, a_start, a_end = attempt(verifier, token)
        assert first_failure(result, a_start, a_end, first_reason), result
        for probe in (token, mint(k1, ISSUER, CLIENT), unknown) * 5:
            result, _, ended = attempt(verifier, probe)
            assert result == "jwks:jwks_backoff", result
            record.verifies += 1
        adapters_fail_closed(verifier, token)
        assert time.monotonic() < a_start + BACKOFF, "phase A outlived the backoff window: host too slow"
        assert cache.fetch_count == 1
        record.faults += 1

        # B. the server recovers: the first verify after the backoff fetches and succeeds.
        server.fault = None
        sleep_until(a_end + BACKOFF + 0.05)
        b_start, b_end = until_ok(verifier, token, a_end + BACKOFF + 8.0, record)

        for _ in range(cycles):
            before = cache.fetch_count
            # C. the fault returns after the TTL: stale-if-error within ttl + max_stale.
            server.fault = fault
            sleep_until(b_end + TTL + 0.02)
            result, c_start, c_end = attempt(verifier, token)
            assert result == "ok", f"stale keys were not served: {result}"
            assert cache.fetch_count == before + 1, "exactly one refresh attempt"
            record.faults += 1
            record.stale_served += 1
            while time.monotonic() < b_start + TTL + MAX_STALE - 0.1:
                for probe in (token, unknown):
                    result, _, ended = attempt(verifier, probe)
                    record.verifies += 1
                    if probe is token and ended - b_start < TTL + MAX_STALE:
                        assert result == "ok", f"inside the stale window: {result}"
                        record.stale_served += 1
                    if probe is unknown:
                        assert result in ("token:unknown_kid", "jwks:jwks_stale"), result
                time.sleep(0.02)
            assert cache.fetch_count == before + 1, "a retry inside the backoff window"

            # D. past ttl + max_stale: fail closed, adapters never Allow.
            sleep_until(b_end + TTL + MAX_STALE + 0.05)
            result, _, _ = attempt(verifier, token)
            assert result == "jwks:jwks_stale", result
            adapters_fail_closed(verifier, token)
            if time.monotonic() < c_start + BACKOFF:
                assert cache.fetch_count == before + 1, "a retry inside the backoff window"
            late = cache.fetch_count - before - 1  # D ran after the backoff on a slow host: one more try
            assert late in (0, 1)
            record.faults += late

            # E. recovery once the backoff has passed, and not before.
            server.fault = None
            e_start, e_end = until_ok(verifier, token, c_end + BACKOFF + 8.0, record)
            assert e_end >= c_start + BACKOFF, "recovered inside the backoff window"
            b_start, b_end = e_start, e_end
        assert server.paths[ALT_PATH] == 0, "a redirect was followed"
        record.attempts = cache.fetch_count
        record.requests = server.request_count
    return record


WAVE = 5  # scenarios side by side: enough to overlap the backoff waits, few enough for 2 cores


def test_every_fault_walks_the_cache_life_cycle(keys: dict[str, RsaKey]) -> None:
    cycles = scaled(1, 3)
    records: dict[str, Record] = {}
    failures: dict[str, str] = {}

    def worker(name: str) -> None:
        try:
            records[name] = run_scenario(name, keys, cycles)
        except BaseException:
            failures[name] = traceback.format_exc()

    names = list(FAULTS)
    for wave in range(0, len(names), WAVE):
        threads = [
            threading.Thread(target=worker, args=(n,), name=f"fault-{n}") for n in names[wave : wave + WAVE]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads), "a scenario hung"
    assert not failures, "\n".join(f"--- {name}\n{trace}" for name, trace in failures.items())
    assert set(records) == set(FAULTS)
    for name, record in records.items():
        # Per scenario: A one attempt, B one, then per cycle one failed refresh (C), at most one late
        # attempt in D (only when D ran after the backoff on a slow host) and one recovering fetch (E);
        # plus any recovery poll that missed its deadline. Requests reaching the server never exceed
        # the attempts (a redirect target is never asked).
        bound = 2 + 3 * cycles + record.deadline_misses
        assert 2 + 2 * cycles <= record.attempts <= bound, (name, record)
        assert record.requests <= record.attempts, (name, record)
        TALLY.add("fetches:faults.attempts", record.attempts)
        TALLY.add("fetches:faults.bound", bound)
        TALLY.add("fetches:faults.requests_at_server", record.requests)
        TALLY.add(f"faults:{name}", record.faults)
        TALLY.add("faults:injected", record.faults)
        TALLY.add("operations:faults.verifies", record.verifies)
        TALLY.add("operations:faults.stale_served", record.stale_served)


# --- rotation mid-run -----------------------------------------------------------------------------------


@pytest.fixture
def server(keys: dict[str, RsaKey]) -> Iterator[JwksServer]:
    with JwksServer(jwks_of(keys["k1"])) as running:
        yield running


def test_rotation_mid_run(server: JwksServer, keys: dict[str, RsaKey]) -> None:
    k1, k2, k3 = keys["k1"], keys["k2"], keys["k3"]
    verifier = make_verifier(server, jwks_ttl=0.4, kid_miss_cooldown=0.25)
    old = mint(k1, ISSUER, CLIENT)
    assert attempt(verifier, old)[0] == "ok"
    assert server.request_count == 1

    # A new key is published: its first token costs one kid-miss refetch, then verifies.
    server.jwks = jwks_of(k1, k2)
    time.sleep(0.26)  # past the miss cooldown started by the cold fetch
    new = mint(k2, ISSUER, CLIENT)
    assert attempt(verifier, new)[0] == "ok"
    assert server.request_count == 2

    # The old key is withdrawn: the cached key set still has it until the TTL, then it dies, also for
    # the repeated (token-cached) token.
    server.jwks = jwks_of(k2)
    fetched = time.monotonic()
    while time.monotonic() < fetched + 0.4 + 0.3:
        result = attempt(verifier, old)[0]
        assert result in ("ok", "token:unknown_kid"), result
        time.sleep(0.02)
    assert attempt(verifier, old)[0] == "token:unknown_kid"
    assert attempt(verifier, mint(k1, ISSUER, CLIENT))[0] == "token:unknown_kid"
    assert attempt(verifier, new)[0] == "ok"

    # The key behind kid k2 is replaced (same kid, other modulus): after the next refresh, tokens signed
    # by the old key stop verifying, cached or not, and the new key's tokens verify.
    replacement = RsaKey("k2", k3.private_key)
    server.jwks = jwks_of(replacement)
    time.sleep(0.45)
    assert attempt(verifier, new)[0] == "token:invalid_signature"
    assert attempt(verifier, mint(replacement, ISSUER, CLIENT))[0] == "ok"
    TALLY.add("operations:rotation.key_changes", 3)
    TALLY.add("fetches:rotation.observed", server.request_count)


def test_flood_of_unpublished_kids_during_rotation_costs_one_fetch_per_cooldown(
    server: JwksServer, keys: dict[str, RsaKey]
) -> None:
    cooldown = 0.25
    verifier = make_verifier(server, jwks_ttl=3600.0, kid_miss_cooldown=cooldown)
    verifier.hydrate()
    started = time.monotonic()
    published_at: float | None = None
    tried = 0
    _, payload, signature = mint(keys["k3"], ISSUER, CLIENT).split(".")
    while time.monotonic() - started < 1.5:
        # An unknown kid is decided before the signature is checked: no need to sign each one.
        header = b64url_encode(f'{{"kid":"attacker-{tried}","alg":"RS256"}}'.encode())
        result = attempt(verifier, f"{header}.{payload}.{signature}")[0]
        assert result == "token:unknown_kid", result
        tried += 1
        if published_at is None and time.monotonic() - started > 0.5:
            server.jwks = jwks_of(keys["k1"], keys["k3"])  # k3 rotates in halfway through the flood
            published_at = time.monotonic()
    assert published_at is not None
    elapsed = time.monotonic() - started
    bound = 1 + int(elapsed / cooldown) + 1  # hydrate, then at most one miss refetch per cooldown
    assert server.request_count <= bound, (server.request_count, bound, tried)
    # The rotated-in key is found: at most one cooldown after it was published.
    assert attempt(verifier, mint(keys["k3"], ISSUER, CLIENT))[0] == "ok"
    TALLY.add("inputs:faults.kid_flood", tried)
    TALLY.add("fetches:faults.kid_flood.observed", server.request_count)
    TALLY.add("fetches:faults.kid_flood.bound", bound)


# --- parseable but poisoned key sets ---------------------------------------------------------------------


def _hs256(secret: bytes, claims_token: str) -> str:
    import hashlib
    import hmac

    header = b64url_encode(b'{"kid":"k1","alg":"HS256"}')
    payload = claims_token.split(".")[1]
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url_encode(signature)}"


@pytest.mark.parametrize(
    ("jwks", "expected"),
    [
        pytest.param(lambda k: jwks_of(k.public_jwk(use="enc")), InvalidKeyError, id="use-enc"),
        pytest.param(lambda k: jwks_of(k.public_jwk(alg="RS512")), InvalidKeyError, id="alg-mismatch"),
        pytest.param(
            lambda k: jwks_of({"kid": "k1", "kty": "oct", "alg": "HS256", "k": b64url_encode(b"secret")}),
            InvalidKeyError,
            id="hmac-key-under-our-kid",
        ),
        pytest.param(lambda k: jwks_of(k, k.public_jwk(e="AQAB")), InvalidKeyError, id="duplicate-kid"),
        pytest.param(lambda k: {"keys": []}, UnknownKeyError, id="empty-set"),
        pytest.param(
            lambda k: {"keys": [k.public_jwk(kid=f"pad-{i}") for i in range(1800)] + [k.public_jwk()]},
            None,
            id="near-the-1MiB-cap",
        ),
    ],
)
def test_poisoned_key_sets_never_verify_with_the_wrong_key(
    server: JwksServer,
    keys: dict[str, RsaKey],
    jwks: Callable[[RsaKey], dict[str, Any]],
    expected: type[TokenError] | None,
) -> None:
    k1 = keys["k1"]
    token = mint(k1, ISSUER, CLIENT)
    verifier = make_verifier(server)
    assert attempt(verifier, token)[0] == "ok"
    server.jwks = jwks(k1)
    time.sleep(TTL + 0.02)
    outcome = attempt(verifier, token)[0]
    hmac_forgery = _hs256(b"secret", mint(k1, ISSUER, CLIENT, sub="forged"))
    with pytest.raises(UnsupportedAlgorithmError):
        verifier.verify(hmac_forgery)  # alg confusion is refused before any key is touched
    if expected is None:
        assert outcome == "ok"
    else:
        assert outcome == f"token:{expected.default_reason}", outcome
        with pytest.raises(expected):
            verifier.verify(mint(k1, ISSUER, CLIENT))
    with pytest.raises(InvalidSignatureError if expected is None else expected):
        verifier.verify(mint(keys["k2"], ISSUER, CLIENT, kid="k1"))  # another key under our kid
    TALLY.add("faults:poisoned_jwks")
