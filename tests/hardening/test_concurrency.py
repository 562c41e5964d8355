"""Concurrency: 16 threads verify, decide and authorize for a sustained, bounded period while the JWKS
server rotates keys and flaps (503, connection resets, a server slower than the fetch deadline).

Invariants, checked per operation against a log of every JWKS fetch (start, end, kids served or failure)
that a recording ``Fetcher`` around the real ``HttpFetcher`` keeps:

- a valid token verifies with its own ``sub``, or fails only in a documented window: ``UnknownKeyError``
  when the key set the cache held did not contain the token's kid (newly published and not fetched yet,
  or withdrawn by a fetch during the call), ``JwksError`` when no key set was usable (the last good one
  older than ``ttl + max_stale``, or none yet); any other outcome is a wrong answer;
- an invalid token (expired, another app client, another issuer, flipped signature, forged with a
  published kid, unknown kid, ``alg: none``, garbage) never verifies;
- ``Policy.decide`` under contention answers exactly as it does single-threaded;
- the Lambda authorizer never answers an invalid token, and allows a valid one only where decide does;
- no exception outside the ``AuthzError`` tree (for the authorizer: exactly ``Exception("Unauthorized")``
  or ``AuthorizerUnavailable``);
- fetch attempts stay within the bound the cache promises, computed from the run length: one hydrate,
  at most one kid-miss refetch per cooldown, and TTL refreshes at least ``min(ttl, backoff)`` apart.

``HYPOTHESIS_PROFILE=thorough`` (or ``HARDENING_LONG=1``) runs 20 s instead of 3 s.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import requests  # noqa: F401 - imported once here, not by the first fetch under its deadline

from cognito_authz import CognitoVerifier
from cognito_authz.adapters.lambda_authorizer import AuthorizerUnavailable, LambdaAuthorizer
from cognito_authz.errors import JwksError, TokenError, UnknownKeyError
from cognito_authz.iam import iam_allows
from cognito_authz.jwks import HttpFetcher, parse_jwks
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal
from cognito_authz.token import b64url_encode
from cognito_authz.verifier import cognito_issuer
from tests.hardening.campaign import TALLY, assert_our_error, mint, seconds
from tests.support.jwks_server import Fault, JwksServer, RsaKey, jwks_of

THREADS = 16
DURATION = seconds(3.0, 20.0)
POOL = "eu-west-1_Concur001"
ISSUER = cognito_issuer(POOL)
CLIENT = "concurrencyclient"
TTL = 0.5
COOLDOWN = 0.25
MAX_STALE = 1.0
FETCH_TIMEOUT = 0.3
BACKOFF_INITIAL = 1.0  # JwksCache's default, kept by CognitoVerifier
ROTATE_EVERY = 0.5
SLACK = 0.05  # between a fetch returning and its key set being installed
ARN_PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/"

POLICY = Policy.from_dict(
    {
        "version": 1,
        "rules": [
            {"id": "admin", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
            {"id": "read", "routes": ["GET /orders/{id}"], "when": {"scopes": ["orders/read"]}},
            {"id": "self", "routes": ["GET /users/{userId}"], "when": {"claims": {"sub": "{userId}"}}},
            {"id": "no-secrets", "effect": "deny", "routes": ["ANY /orders/{id}/secret"]},
        ],
    }
)
ROLES: dict[str, dict[str, Any]] = {
    "admin": {"cognito:groups": ["admin"], "scope": "openid", "sub": "u-admin"},
    "reader": {"scope": "orders/read", "sub": "u-reader"},
    "self": {"scope": "profile", "sub": "u-self"},
}
REQUESTS = [
    ("GET", "/orders/42"),
    ("POST", "/orders/42"),
    ("GET", "/orders/42/secret"),
    ("GET", "/users/u-self"),
    ("GET", "/users/u-reader"),
    ("DELETE", "/admin/x"),
    ("GET", "/orders/.."),
    ("get", "/orders/7"),
]


@dataclass(frozen=True)
class Fetch:
    started: float
    ended: float
    kids: frozenset[str] | None  # None: the fetch failed


class RecordingFetcher:
    """The real HttpFetcher, with a log of every attempt (the oracle's view of what the cache held)."""

    def __init__(self) -> None:
        self.inner = HttpFetcher(timeout=FETCH_TIMEOUT, allow_http=True)
        self.lock = threading.Lock()
        self.log: list[Fetch] = []

    def __call__(self, uri: str) -> Any:
        started = time.monotonic()
        try:
            document = self.inner(uri)
            kids = frozenset(parse_jwks(document))  # what the cache is about to install
        except BaseException:
            with self.lock:
                self.log.append(Fetch(started, time.monotonic(), None))
            raise
        with self.lock:
            self.log.append(Fetch(started, time.monotonic(), kids))
        return document

    def snapshot(self) -> list[Fetch]:
        with self.lock:
            return list(self.log)


def wrong_unknown_kid(log: list[Fetch], kid: str, started: float, ended: float) -> str:
    """Why ``UnknownKeyError`` for ``kid`` during [started, ended] is a wrong answer, or ``""``.

    Safety: the cache certainly held ``kid`` for the whole call (the last successful fetch installed
    before the call had it, and no successful fetch that ended during the call lacked it).
    Liveness: the cache should have refetched and did not (its last attempt succeeded, so no backoff,
    more than a cooldown ago, and no attempt started during the call).
    """
    succeeded = [f.kids for f in log if f.kids is not None and f.ended < started - SLACK]
    if succeeded and kid in succeeded[-1]:
        during = [f.kids for f in log if f.kids is not None and started - SLACK <= f.ended <= ended]
        if all(kid in kids for kids in during):
            return "the cached key set had this kid"
    attempts = [f for f in log if f.started < started - SLACK]
    quiet = not any(started - SLACK <= f.started <= ended for f in log)
    if (
        attempts
        and attempts[-1].kids is not None
        and attempts[-1].ended < started - COOLDOWN - SLACK
        and quiet
    ):
        return "a kid miss past the cooldown, outside any backoff, caused no refetch"
    return ""


def wrong_jwks_error(log: list[Fetch], started: float, ended: float) -> bool:
    """True when a key set was certainly usable for the whole call (fetched less than ttl + max_stale
    before it ended)."""
    before = [f.ended for f in log if f.kids is not None and f.ended < started - SLACK]
    return bool(before) and ended - before[-1] < TTL + MAX_STALE - SLACK


@dataclass
class Shared:
    """What the controller publishes and the workers read (under ``lock``)."""

    keys: list[RsaKey]
    lock: threading.Lock = field(default_factory=threading.Lock)
    published: list[RsaKey] = field(default_factory=list)
    fresh: dict[str, deque[tuple[str, str]]] = field(default_factory=dict)
    repeated: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    invalid: dict[str, list[str]] = field(default_factory=dict)
    rotations: int = 0
    flaps: int = 0


def _flip(token: str) -> str:
    head, payload, signature = token.split(".")
    raw = bytearray(signature.encode())
    raw[10] = ord("A") if raw[10] != ord("A") else ord("B")
    return f"{head}.{payload}.{raw.decode()}"


def unsigned(kid: str, token: str) -> str:
    """``token``'s claims under ``alg: none`` with a published kid and no signature."""
    header = b64url_encode(json.dumps({"kid": kid, "alg": "none"}).encode())
    return f"{header}.{token.split('.')[1]}."


def build_tokens(shared: Shared, attacker: RsaKey) -> None:
    now = int(time.time())
    for key in shared.keys:
        shared.fresh[key.kid] = deque(
            (role, mint(key, ISSUER, CLIENT, **ROLES[role], jti=f"{key.kid}-{i}"))
            for i in range(40)
            for role in ROLES
        )
        shared.repeated[key.kid] = [(role, mint(key, ISSUER, CLIENT, **ROLES[role])) for role in ROLES]
        good = shared.repeated[key.kid][0][1]
        shared.invalid[key.kid] = [
            mint(key, ISSUER, CLIENT, exp=now - 10, iat=now - 3610),
            mint(key, ISSUER, "another-client"),
            mint(key, cognito_issuer("eu-west-1_Another01"), CLIENT),
            _flip(good),
            mint(attacker, ISSUER, CLIENT, kid=key.kid, **ROLES["admin"]),
            mint(attacker, ISSUER, CLIENT, kid=f"unknown-{key.kid}"),
            unsigned(key.kid, good),
            "not-a-token",
        ]


@dataclass
class WorkerTally:
    ops: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def worker(
    index: int,
    shared: Shared,
    verifier: CognitoVerifier,
    authorizer: LambdaAuthorizer,
    fetcher: RecordingFetcher,
    expected: dict[tuple[str, str, str], bool],
    deadline: float,
    barrier: threading.Barrier,
    tally: WorkerTally,
) -> None:
    rng = random.Random(index)
    subs = {role: claims["sub"] for role, claims in ROLES.items()}
    principals = {
        role: Principal.from_claims({**claims, "token_use": "access"}) for role, claims in ROLES.items()
    }
    barrier.wait()
    while time.monotonic() < deadline:
        with shared.lock:
            published = list(shared.published)
        key = rng.choice(published)
        op = rng.random()
        try:
            if op < 0.45:  # a valid token, fresh (first verify) or repeated (token-cache hit)
                kind = "fresh" if op < 0.2 else "repeated"
                with shared.lock:
                    pool = shared.fresh[key.kid]
                    role, token = (
                        pool.popleft() if kind == "fresh" and pool else rng.choice(shared.repeated[key.kid])
                    )
                started = time.monotonic()
                error: TokenError | JwksError | None = None
                try:
                    principal = verifier.verify(token)
                except (TokenError, JwksError) as exc:
                    error = exc
                ended = time.monotonic()
                if error is None:
                    assert principal.sub == subs[role]
                    tally.ops[f"verify.valid.{kind}.ok"] += 1
                elif isinstance(error, UnknownKeyError):
                    assert_our_error(error, UnknownKeyError)
                    why = wrong_unknown_kid(fetcher.snapshot(), key.kid, started, ended)
                    assert not why, f"unknown_kid for {key.kid}: {why}"
                    tally.ops["verify.valid.unknown_kid_window"] += 1
                elif isinstance(error, JwksError):
                    assert_our_error(error, JwksError)
                    assert not wrong_jwks_error(fetcher.snapshot(), started, ended), (
                        f"{error.reason}, keys usable"
                    )
                    tally.ops["verify.valid.jwks_window"] += 1
                else:
                    raise AssertionError(f"a valid token was refused: {error!r}")
                tally.ops["verify.valid"] += 1
            elif op < 0.7:  # an invalid token never verifies
                token = rng.choice(shared.invalid[key.kid])
                try:
                    verifier.verify(token)
                except (TokenError, JwksError) as exc:
                    error = exc
                else:
                    raise AssertionError(f"an invalid token verified: {token[:40]}")
                assert_our_error(error, TokenError, JwksError)
                tally.ops["verify.invalid"] += 1
            elif op < 0.9:  # decide: the same answer as single-threaded
                role = rng.choice(sorted(ROLES))
                method, path = rng.choice(REQUESTS)
                assert POLICY.decide(principals[role], method, path).allowed is expected[(role, method, path)]
                tally.ops["decide"] += 1
            else:  # the authorizer, on a valid or an invalid token
                valid = rng.random() < 0.6
                role, token = (
                    rng.choice(shared.repeated[key.kid])
                    if valid
                    else ("", rng.choice(shared.invalid[key.kid]))
                )
                method, path = rng.choice(REQUESTS[:6])
                arn = f"{ARN_PREFIX}{method}{path}"
                event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": arn}
                failure: Exception | None = None
                try:
                    response = authorizer(event, None)
                except Exception as exc:
                    failure = exc
                if failure is None:
                    assert valid, "the authorizer answered an invalid token"
                    allowed = iam_allows(response["policyDocument"], arn)
                    assert allowed is expected[(role, method, path)], (role, method, path)
                    tally.ops[f"authorizer.{'allow' if allowed else 'deny'}"] += 1
                elif type(failure) is AuthorizerUnavailable:
                    tally.ops["authorizer.unavailable"] += 1
                else:
                    assert type(failure) is Exception, repr(failure)
                    assert failure.args == ("Unauthorized",), repr(failure)
                    tally.ops["authorizer.unauthorized"] += 1
                tally.ops["authorizer"] += 1
        except BaseException:
            tally.failures.append(traceback.format_exc())
            if len(tally.failures) > 5:
                return
        tally.ops["total"] += 1


def controller(server: JwksServer, shared: Shared, deadline: float, barrier: threading.Barrier) -> None:
    """Rotate keys every ROTATE_EVERY seconds (a sliding window of two published keys) and flap the
    server: healthy 0.5 s, then 0.2 s of 503 / reset / slower than the deadline / reset mid-body."""
    faults = [Fault.status(503), Fault.reset(), Fault.slow(FETCH_TIMEOUT * 3), Fault.reset(after_bytes=30)]
    barrier.wait()
    next_rotation = time.monotonic() + ROTATE_EVERY
    flap = 0
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_rotation:
            with shared.lock:
                newest = shared.keys.index(shared.published[-1])
                if newest + 1 < len(shared.keys):
                    shared.published = [shared.published[-1], shared.keys[newest + 1]]
                    server.jwks = jwks_of(*shared.published)
                    shared.rotations += 1
            next_rotation = now + ROTATE_EVERY
        # Healthy 0.5 s, faulty 0.2 s: every failure also buys the cache a backoff (1 s, doubling).
        phase = (now % 0.7) < 0.5
        wanted = None if phase else faults[flap % len(faults)]
        if (server.fault is None) != (wanted is None):
            if wanted is not None:
                flap += 1
                shared.flaps += 1
            server.fault = wanted
        time.sleep(0.01)
    server.fault = None


def test_sixteen_threads_verify_decide_and_authorize_through_rotation_and_flapping() -> None:
    rotations_needed = int(DURATION / ROTATE_EVERY) + 2
    keys = [RsaKey.generate(f"k{i}") for i in range(rotations_needed + 1)]
    shared = Shared(keys=keys, published=keys[:2])
    build_tokens(shared, RsaKey.generate("attacker"))
    expected = {
        (role, method, path): POLICY.decide(
            Principal.from_claims({**claims, "token_use": "access"}), method, path
        ).allowed
        for role, claims in ROLES.items()
        for method, path in REQUESTS
    }
    # The single-threaded answers the threads are held to, spot-checked by hand.
    assert expected[("admin", "DELETE", "/admin/x")]
    assert not expected[("admin", "GET", "/orders/42/secret")]
    assert expected[("reader", "GET", "/orders/42")]
    assert not expected[("reader", "POST", "/orders/42")]
    assert expected[("self", "GET", "/users/u-self")]
    assert not expected[("self", "GET", "/users/u-reader")]
    assert not any(expected[(role, "GET", "/orders/..")] for role in ROLES)

    with JwksServer(jwks_of(*shared.published)) as server:
        fetcher = RecordingFetcher()
        verifier = CognitoVerifier(
            POOL,
            client_id=CLIENT,
            token_use="access",
            jwks_uri=server.url,
            allow_http=True,
            fetcher=fetcher,
            jwks_ttl=TTL,
            kid_miss_cooldown=COOLDOWN,
            max_stale=MAX_STALE,
        )
        authorizer = LambdaAuthorizer(verifier, POLICY)
        verifier.hydrate()
        started = time.monotonic()
        deadline = started + DURATION
        barrier = threading.Barrier(THREADS + 1)
        tallies = [WorkerTally() for _ in range(THREADS)]
        threads = [
            threading.Thread(
                target=worker,
                args=(i, shared, verifier, authorizer, fetcher, expected, deadline, barrier, tallies[i]),
                name=f"campaign-worker-{i}",
            )
            for i in range(THREADS)
        ]
        control = threading.Thread(
            target=controller, args=(server, shared, deadline, barrier), name="controller"
        )
        for thread in [*threads, control]:
            thread.start()
        for thread in [*threads, control]:
            thread.join(DURATION + 30)
        assert not any(thread.is_alive() for thread in [*threads, control]), "a thread hung"
        elapsed = time.monotonic() - started
        log = fetcher.snapshot()
        requests_at_server = server.request_count

    failures = [failure for tally in tallies for failure in tally.failures]
    assert not failures, f"{len(failures)} wrong answers or escaped exceptions:\n" + "\n".join(failures[:3])

    ops: Counter[str] = Counter()
    for tally in tallies:
        ops.update(tally.ops)
    # Fetch attempts against the bound: the hydrate, kid-miss refetches at most one per cooldown, and
    # TTL/stale refreshes at least min(ttl, backoff) apart.
    bound = 1 + (math.floor(elapsed / COOLDOWN) + 1) + (math.floor(elapsed / min(TTL, BACKOFF_INITIAL)) + 1)
    attempts = len(log)
    assert attempts == verifier.jwks_cache().fetch_count
    assert attempts <= bound, (attempts, bound)
    assert requests_at_server <= attempts
    assert shared.rotations >= int(DURATION / ROTATE_EVERY) - 1
    assert shared.flaps >= int(DURATION / 0.7) - 1
    for name in (
        "verify.valid.fresh.ok",
        "verify.valid.repeated.ok",
        "verify.invalid",
        "decide",
        "authorizer",
    ):
        assert ops[name] > 0, name
    assert ops["total"] >= THREADS * 50, ops

    TALLY.add("operations:concurrency.threads", THREADS)
    TALLY.add("operations:concurrency.seconds", round(elapsed))
    for name, count in sorted(ops.items()):
        TALLY.add(f"operations:concurrency.{name}", count)
    TALLY.add("operations:concurrency.key_rotations", shared.rotations)
    TALLY.add("faults:concurrency.server_flaps", shared.flaps)
    TALLY.add("fetches:concurrency.attempts", attempts)
    TALLY.add("fetches:concurrency.failed", sum(1 for f in log if f.kids is None))
    TALLY.add("fetches:concurrency.requests_at_server", requests_at_server)
    TALLY.add("fetches:concurrency.bound", bound)
