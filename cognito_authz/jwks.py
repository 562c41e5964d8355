"""JWKS cache: the signing keys of one issuer, fetched rarely, parsed once, replaced atomically.

Policy of the cache (docs/verifier.md, "The JWKS cache"):

* keys are fresh for ``ttl`` seconds after a successful fetch; a key removed upstream dies on the next
  refresh because the whole key set is replaced, never merged;
* a ``kid`` that is not in a fresh key set triggers at most one refetch per ``kid_miss_cooldown`` so a
  flood of random kids costs one request, not one per token;
* concurrent refreshes collapse into one (single flight); the lock is held only while fetching, never
  while a caller verifies a signature, and a caller that still holds usable (past-TTL) keys never waits
  for another thread's refresh: it keeps serving them meanwhile;
* stale-if-error: when a refresh fails, the last good keys keep serving until ``ttl + max_stale`` after
  they were fetched, then the cache fails closed with :class:`JwksError`; failures back off exponentially
  (no fetch attempt at all inside the backoff window);
* fetching is bounded: a total deadline over every phase (DNS, connect, TLS, headers, body), a response
  size cap, no redirects, HTTPS only unless plain HTTP is explicitly allowed (local issuers, moto).

``requests`` is imported only when a fetch actually happens, so a Lambda that loads its keys from a
bundled file never pays for it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.errors import ConfigError, InvalidKeyError, JwksError, UnknownKeyError

if TYPE_CHECKING:
    import requests

__all__ = ["DEFAULT_MAX_BYTES", "Fetcher", "HttpFetcher", "Jwk", "JwksCache", "parse_jwks"]

DEFAULT_TTL = 3600.0
DEFAULT_KID_MISS_COOLDOWN = 30.0
DEFAULT_MAX_STALE = 6 * 3600.0
DEFAULT_FETCH_TIMEOUT = 3.0
DEFAULT_MAX_BYTES = 1 << 20
MIN_RSA_BITS = 2048
#: OpenSSL refuses to verify with larger moduli, so such a key could only ever fail as "bad signature";
#: calling it unusable says why.
MAX_RSA_BITS = 16384
_CHUNK = 16 * 1024
#: Doubling stops here; 2**64 seconds is already far beyond any ``backoff_max`` and keeps the float finite.
_MAX_BACKOFF_EXPONENT = 64
#: RFC 7518 §6.3.1: base64url; tolerate trailing padding (some issuers add it), nothing else.
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
#: What a JWK of kty RSA can verify; anything else (HS*, ES*, EdDSA, none, RSA-OAEP) never gets its key.
_RSA_SIGNATURE_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})


class Jwk(Frozen):
    """One entry of a key set. ``key`` is the parsed RSA public key, or ``None`` with ``problem`` set
    when the entry cannot verify anything (kept so the verifier can say *why* rather than "unknown kid").
    """

    __slots__ = ("alg", "key", "kid", "kty", "problem", "use")
    kid: str
    kty: str | None
    alg: str | None
    use: str | None
    key: RSAPublicKey | None
    problem: str | None

    def __init__(
        self,
        kid: str,
        kty: str | None,
        alg: str | None,
        use: str | None,
        key: RSAPublicKey | None,
        problem: str | None = None,
    ) -> None:
        set_field(self, "kid", kid)
        set_field(self, "kty", kty)
        set_field(self, "alg", alg)
        set_field(self, "use", use)
        set_field(self, "key", key)
        set_field(self, "problem", problem)

    def key_for(self, alg: str) -> RSAPublicKey:
        """Return the public key if this JWK may verify a token signed with ``alg``."""
        if self.key is None:
            raise InvalidKeyError(f"key {self.kid!r} is unusable: {self.problem}", kid=self.kid)
        if alg not in _RSA_SIGNATURE_ALGS:
            # Defence in depth against algorithm confusion (an RSA public key used as an HMAC secret):
            # the verifier's allow-list should already have refused such a header.
            raise InvalidKeyError(f"key {self.kid!r} is an RSA key, not usable for {alg!r}", kid=self.kid)
        if self.alg is not None and self.alg != alg:
            raise InvalidKeyError(
                f"key {self.kid!r} is for {self.alg}, the token header says {alg}", kid=self.kid
            )
        return self.key


def _b64url_uint(value: Any) -> int | None:
    if not isinstance(value, str) or _B64URL.fullmatch(value) is None:
        return None
    unpadded = value.rstrip("=")
    if len(unpadded) % 4 == 1:  # no byte string encodes to this length
        return None
    raw = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    return int.from_bytes(raw, "big") if raw else None


def _parse_jwk(kid: str, entry: Mapping[str, Any]) -> Jwk:
    kty, alg, use = entry.get("kty"), entry.get("alg"), entry.get("use")

    def unusable(problem: str) -> Jwk:
        return Jwk(
            kid=kid,
            kty=kty if isinstance(kty, str) else None,
            alg=alg if isinstance(alg, str) else None,
            use=use if isinstance(use, str) else None,
            key=None,
            problem=problem,
        )

    if kty != "RSA":
        return unusable(f"kty {kty!r} is not RSA")
    if use is not None and use != "sig":
        return unusable(f"use {use!r} is not sig")
    if "key_ops" in entry:
        # RFC 7517 section 4.3: the operations the key is intended for. Present, it must allow "verify".
        ops = entry["key_ops"]
        if not isinstance(ops, list) or not all(isinstance(op, str) for op in ops):
            return unusable("key_ops is not a list of strings")
        if "verify" not in ops:
            return unusable(f"key_ops {ops!r} does not allow verify")
    if alg is not None and not isinstance(alg, str):
        return unusable("alg is not a string")
    if alg is not None and alg not in _RSA_SIGNATURE_ALGS:
        return unusable(f"alg {alg!r} is not an RSA signature algorithm")
    n, e = _b64url_uint(entry.get("n")), _b64url_uint(entry.get("e"))
    if n is None or e is None:
        return unusable("n or e missing or not base64url")
    if n.bit_length() < MIN_RSA_BITS:
        return unusable(f"modulus shorter than {MIN_RSA_BITS} bits")
    if n.bit_length() > MAX_RSA_BITS:
        return unusable(f"modulus longer than {MAX_RSA_BITS} bits")
    if n % 2 == 0:  # cryptography accepts an even modulus; it is no RSA key
        return unusable("modulus is even")
    try:
        key = RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        return unusable(f"invalid RSA numbers ({exc})")
    return Jwk(kid=kid, kty=kty, alg=alg, use=use, key=key)


def parse_jwks(document: Any) -> dict[str, Jwk]:
    """Parse a JWKS document into ``{kid: Jwk}``.

    Entries without a non-empty string ``kid`` are ignored (no token can select them). A ``kid`` that
    appears twice is ambiguous and is kept as unusable rather than letting order decide which key
    verifies. Raises :class:`JwksError` (``jwks_invalid``) when the document is not a JWKS at all.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JwksError("JWKS document is not an object with a 'keys' array", reason="jwks_invalid")
    keys: dict[str, Jwk] = {}
    for entry in document["keys"]:
        if not isinstance(entry, Mapping):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            continue
        if kid in keys:
            keys[kid] = Jwk(kid=kid, kty=None, alg=None, use=None, key=None, problem="duplicate kid in JWKS")
            continue
        keys[kid] = _parse_jwk(kid, entry)
    return keys


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        # {"n": A, "n": B}: which modulus counts would depend on the parser; refuse the document.
        raise ValueError("duplicate key in JSON object")
    return obj


def _loads_strict(raw: str | bytes) -> Any:
    """``json.loads`` without NaN/Infinity and without duplicate keys, as :class:`JwksError`."""
    try:
        return json.loads(raw, parse_constant=_reject_constant, object_pairs_hook=_object_without_duplicates)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise JwksError(f"JWKS is not valid JSON ({type(exc).__name__})", reason="jwks_invalid") from exc


class Fetcher(Protocol):
    """Anything that turns a JWKS URI into the parsed JSON document, raising :class:`JwksError`."""

    def __call__(self, uri: str) -> Any: ...


def _check_duration(name: str, value: Any, *, positive: bool = False, finite: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ConfigError(f"{name} must be {'positive' if positive else 'non-negative'}, got {value!r}")
    if finite and math.isinf(value):
        raise ConfigError(f"{name} must be finite")
    return float(value)


class _Attempt:
    """What one fetch worker produced, shared with the caller that waits for it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.abandoned = False
        self.response: requests.Response | None = None
        self.body: bytes | None = None
        self.error: JwksError | None = None

    def abandon(self) -> None:
        """The caller gave up at its deadline: wake the worker if it is blocked reading the body."""
        with self.lock:
            self.abandoned = True
            response = self.response
        if response is None:
            return  # still connecting or reading headers: the per-read timeout ends the worker
        connection = getattr(getattr(response, "raw", None), "connection", None)
        sock = getattr(connection, "sock", None)
        import socket  # only after an abandoned fetch: not on the cold-start path

        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already closed: the worker is finishing anyway
                # The plain-socket method even for TLS: SSLSocket.shutdown would also drop its SSL
                # object under the worker's feet. The worker's read returns and it closes the response.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class HttpFetcher:
    """Bounded HTTP fetch with ``requests``: total deadline, size cap, no redirects, HTTPS by default.

    Pass ``session`` for proxies, a custom CA bundle or connection reuse across verifiers; without one,
    each fetch uses (and closes) its own short-lived session, so nothing stays open between the rare
    fetches. The deadline covers the whole exchange: the request runs on a helper thread and the caller
    stops waiting at ``timeout`` even if the server trickles its answer a byte at a time.
    """

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_FETCH_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allow_http: bool = False,
    ) -> None:
        self.timeout = _check_duration("timeout", timeout, positive=True, finite=True)
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ConfigError(f"max_bytes must be a positive integer, got {max_bytes!r}")
        self._session = session
        self.max_bytes = max_bytes
        self.allow_http = allow_http

    def __call__(self, uri: str) -> Any:
        if not isinstance(uri, str) or not (
            uri.startswith("https://") or (self.allow_http and uri.startswith("http://"))
        ):
            raise JwksError(
                "JWKS URI must be https:// (pass allow_http=True for a local issuer)",
                reason="jwks_insecure_uri",
            )
        deadline = time.monotonic() + self.timeout
        attempt = _Attempt()
        worker = threading.Thread(
            target=self._fetch, args=(uri, deadline, attempt), name="cognito-authz-jwks-fetch", daemon=True
        )
        try:
            worker.start()
        except RuntimeError as exc:  # "can't start new thread": out of threads or memory
            raise JwksError("JWKS fetch could not start a thread", reason="jwks_fetch_failed") from exc
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            attempt.abandon()
            raise JwksError(f"JWKS fetch exceeded its {self.timeout}s deadline", reason="jwks_fetch_failed")
        if attempt.error is not None:
            raise attempt.error
        assert attempt.body is not None
        return _loads_strict(attempt.body)

    def _fetch(self, uri: str, deadline: float, attempt: _Attempt) -> None:
        """Worker thread: never raises; leaves either ``attempt.body`` or ``attempt.error``."""
        try:
            import requests  # deferred: only a real fetch pays for importing requests

            try:
                if self._session is not None:
                    attempt.body = self._get(self._session, uri, deadline, attempt)
                else:
                    with requests.Session() as session:
                        attempt.body = self._get(session, uri, deadline, attempt)
            except requests.RequestException as exc:
                raise JwksError(
                    f"JWKS fetch failed: {type(exc).__name__}", reason="jwks_fetch_failed"
                ) from exc
        except JwksError as exc:
            attempt.error = exc
        except Exception as exc:  # the worker must not die with an unhandled exception
            error = JwksError(f"JWKS fetch failed: {type(exc).__name__}", reason="jwks_fetch_failed")
            error.__cause__ = exc
            attempt.error = error

    def _get(self, session: requests.Session, uri: str, deadline: float, attempt: _Attempt) -> bytes:
        # The (connect, read) timeout bounds each blocking call so an abandoned worker ends on its own.
        response = session.get(
            uri,
            timeout=(self.timeout, self.timeout),
            allow_redirects=False,
            stream=True,
            # Per request, so the session's own CA bundle wins: requests otherwise lets
            # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify (psf/requests#3829).
            verify=session.verify,
            # identity: a JWKS is small, and a compressed body would let a tiny response inflate in memory.
            headers={"Accept": "application/json", "Accept-Encoding": "identity"},
        )
        with response:
            with attempt.lock:
                attempt.response = response
                abandoned = attempt.abandoned
            if abandoned:
                raise JwksError("JWKS fetch abandoned at its deadline", reason="jwks_fetch_failed")
            if 300 <= response.status_code < 400:
                raise JwksError(
                    f"JWKS endpoint answered a redirect ({response.status_code}); not followed",
                    reason="jwks_redirect",
                )
            if response.status_code != 200:
                raise JwksError(
                    f"JWKS endpoint answered HTTP {response.status_code}", reason="jwks_fetch_failed"
                )
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise JwksError(
                    f"JWKS response declares {declared} bytes, more than {self.max_bytes}",
                    reason="jwks_too_large",
                )
            body = bytearray()
            for chunk in response.iter_content(_CHUNK):
                body += chunk
                if len(body) > self.max_bytes:
                    raise JwksError(
                        f"JWKS response larger than {self.max_bytes} bytes", reason="jwks_too_large"
                    )
                if attempt.abandoned or time.monotonic() > deadline:
                    raise JwksError(
                        f"JWKS fetch exceeded its {self.timeout}s deadline", reason="jwks_fetch_failed"
                    )
            return bytes(body)


class _KeySet(Frozen):
    """An immutable snapshot: readers take it with one attribute read, so keys, age and generation
    always belong together (no torn read of old keys with a new timestamp)."""

    __slots__ = ("fetched_at", "generation", "keys")
    keys: dict[str, Jwk]
    fetched_at: float
    generation: int

    def __init__(self, keys: dict[str, Jwk], fetched_at: float, generation: int) -> None:
        set_field(self, "keys", keys)
        set_field(self, "fetched_at", fetched_at)
        set_field(self, "generation", generation)


class JwksCache:
    """The key set of one JWKS URI, thread-safe. See the module docstring for the caching policy.

    With ``jwks_uri=None`` the cache never fetches: keys come only from :meth:`load_jwks` and never
    expire. ``fetch_timeout``, ``max_bytes`` and ``allow_http`` configure the default
    :class:`HttpFetcher`; a custom ``fetcher`` is responsible for its own limits.
    """

    def __init__(
        self,
        jwks_uri: str | None = None,
        *,
        fetcher: Fetcher | None = None,
        session: requests.Session | None = None,
        ttl: float = DEFAULT_TTL,
        kid_miss_cooldown: float = DEFAULT_KID_MISS_COOLDOWN,
        max_stale: float = DEFAULT_MAX_STALE,
        fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allow_http: bool = False,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if jwks_uri is not None and (not isinstance(jwks_uri, str) or not jwks_uri):
            raise ConfigError("jwks_uri must be a non-empty string or None")
        if fetcher is not None and session is not None:
            raise ConfigError("pass either fetcher or session, not both")
        if fetcher is not None and not callable(fetcher):
            raise ConfigError("fetcher must be callable")
        self.jwks_uri = jwks_uri
        self.ttl = _check_duration("ttl", ttl)
        self.kid_miss_cooldown = _check_duration("kid_miss_cooldown", kid_miss_cooldown)
        self.max_stale = _check_duration("max_stale", max_stale)
        self.backoff_initial = _check_duration("backoff_initial", backoff_initial)
        self.backoff_max = _check_duration("backoff_max", backoff_max)
        self._fetcher: Fetcher = fetcher or HttpFetcher(
            session=session, timeout=fetch_timeout, max_bytes=max_bytes, allow_http=allow_http
        )
        self._clock = clock

        self._current: _KeySet | None = None  # None = nothing loaded yet
        self._generation = 0  # bumped on every replacement (single-flight check)
        self._failures = 0
        self._retry_at = float("-inf")
        self._last_error: JwksError | None = None
        self._last_miss_refresh = float("-inf")
        self._fetching = False  # a fetch is in flight (read without the lock by the kid-miss fast path)
        # Held while fetching and while changing any field above; never while a caller verifies.
        self._lock = threading.Lock()
        self.fetch_count = 0  # fetch attempts, failed ones included (tests and metrics read it)

    # -- public API ------------------------------------------------------------------------------

    def get_key(self, kid: str) -> Jwk:
        """Return the JWK for ``kid``, refreshing as the caching policy allows.

        Raises :class:`UnknownKeyError` when the kid is not in the (fresh) key set and
        :class:`JwksError` when no usable key set is available.
        """
        if not isinstance(kid, str) or not kid:
            raise UnknownKeyError("the kid is not a non-empty string", kid=None)
        now = self._clock()
        seen = self._current
        current = seen
        if current is None or not self._is_fresh(current, now):
            current = self._refresh_or_stale(current, now)
        jwk = current.keys.get(kid)
        if jwk is not None:
            return jwk
        if self.jwks_uri is not None:
            current = self._refresh_for_miss(current, seen)
            jwk = current.keys.get(kid)
            if jwk is not None:
                return jwk
        raise UnknownKeyError("no key with this kid in the issuer's JWKS", kid=kid)

    def hydrate(self) -> None:
        """Fetch the key set now (cold start), raising :class:`JwksError` if that fails.

        An explicit call always fetches, even inside a backoff window; a failure still counts for backoff.
        """
        if self.jwks_uri is None:
            raise ConfigError("hydrate() needs a jwks_uri; use load_jwks() for static keys")
        with self._lock:
            self._fetch_locked()

    def load_jwks(
        self,
        source: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        env: str | None = None,
    ) -> None:
        """Install keys without any network: from a JWKS dict, a JSON file path, JSON text, or the
        environment variable ``env`` holding JSON text or a file path.

        Without a ``jwks_uri`` the keys never expire; with one they count as freshly fetched (no
        request until the TTL runs out).
        """
        if (source is None) == (env is None):
            raise ConfigError("load_jwks takes exactly one of source or env")
        if env is not None:
            value = os.environ.get(env)
            if not value:
                raise ConfigError(f"environment variable {env} is not set")
            source = value
        keys = parse_jwks(self._read_source(source))
        with self._lock:
            self._install(keys)

    @property
    def kids(self) -> tuple[str, ...]:
        """The kids currently held (usable or not)."""
        current = self._current
        return tuple(current.keys) if current is not None else ()

    # -- internals -------------------------------------------------------------------------------

    @staticmethod
    def _read_source(source: Any) -> Any:
        if isinstance(source, Mapping):
            return source
        if not isinstance(source, (str, os.PathLike)):
            raise ConfigError(f"cannot load a JWKS from a {type(source).__name__}")
        text = os.fspath(source)
        if not isinstance(text, str):
            raise ConfigError("a JWKS path must be a str path")
        if text.lstrip().startswith("{"):
            raw = text
        else:
            try:
                # open() rather than pathlib, which a cold start would otherwise import for this
                # one call; utf-8-sig tolerates a BOM from an editor.
                with open(text, encoding="utf-8-sig") as handle:
                    raw = handle.read()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read JWKS file {text}: {type(exc).__name__}") from exc
        return _loads_strict(raw)

    def _is_fresh(self, current: _KeySet, now: float) -> bool:
        return self.jwks_uri is None or now - current.fetched_at < self.ttl

    def _install(self, keys: dict[str, Jwk]) -> _KeySet:
        """Replace the key set (lock held). One attribute write: readers see the old set or the new."""
        self._generation += 1
        current = _KeySet(keys=keys, fetched_at=self._clock(), generation=self._generation)
        self._current = current
        self._failures = 0
        self._retry_at = float("-inf")
        self._last_error = None
        return current

    def _fetch_locked(self) -> _KeySet:
        """Fetch, parse and install (lock held); a failure is recorded for backoff and re-raised."""
        assert self.jwks_uri is not None
        self.fetch_count += 1
        self._fetching = True
        try:
            document = self._fetcher(self.jwks_uri)
        except JwksError as exc:
            self._record_failure(exc)
            raise
        except Exception as exc:  # a custom Fetcher must not break the error contract
            error = JwksError(f"JWKS fetcher raised {type(exc).__name__}", reason="jwks_fetch_failed")
            self._record_failure(error)
            raise error from exc
        finally:
            self._fetching = False
        try:
            keys = parse_jwks(document)
        except JwksError as exc:
            self._record_failure(exc)
            raise
        except Exception as exc:  # a custom Fetcher may return a Mapping that misbehaves when read
            error = JwksError(f"JWKS document unreadable ({type(exc).__name__})", reason="jwks_invalid")
            self._record_failure(error)
            raise error from exc
        return self._install(keys)

    def _refresh_or_stale(self, current: _KeySet | None, now: float) -> _KeySet:
        """Keys are missing or past their TTL: refresh, or serve the last good set within max_stale."""
        if self.jwks_uri is None:
            raise JwksError("no JWKS loaded and no jwks_uri to fetch from", reason="jwks_unavailable")
        usable = current is not None and now - current.fetched_at < self.ttl + self.max_stale
        if usable and not self._lock.acquire(blocking=False):
            # Another thread is fetching; this caller's keys are still within their maximum age, so it
            # answers now instead of queueing behind a fetch that may take the whole deadline.
            assert current is not None
            return current
        if not usable:
            self._lock.acquire()
        try:
            latest = self._current
            if latest is not None and (current is None or latest.generation != current.generation):
                return latest  # replaced while this caller waited for the lock: single flight
            if self._clock() < self._retry_at:
                error = JwksError("JWKS refresh is backing off after a failure", reason="jwks_backoff")
                error.__cause__ = self._last_error
            else:
                try:
                    return self._fetch_locked()
                except JwksError as exc:
                    error = exc
        finally:
            self._lock.release()
        if usable:
            assert current is not None
            return current
        if current is not None:
            raise JwksError(
                "JWKS refresh failed and the last good keys are past their maximum age",
                reason="jwks_stale",
            ) from error
        raise error

    def _refresh_for_miss(self, current: _KeySet, seen: _KeySet | None) -> _KeySet:
        """The kid is not in ``current``: refetch if the cooldown allows, else return what we have.

        ``seen`` is the key set the lookup started with; if the key set changed since, this lookup
        already caused (or waited for) a fetch, which counts as its miss refetch.
        """
        if self._clock() - self._last_miss_refresh < self.kid_miss_cooldown and not self._fetching:
            # Fast path for a flood of random kids: no lock, no fetch. Only a fetch in flight is worth
            # waiting for (it may bring this kid); merely contending for the lock is not.
            return current
        with self._lock:
            latest = self._current or current
            if seen is None or seen.generation != latest.generation:
                # The key set was fetched during this very lookup (by it, or by a thread it waited
                # for): that fetch is this miss's refetch. Fetching again now would only double the
                # requests; a cold cache hit by random kids must cost one fetch, not two.
                self._last_miss_refresh = max(self._last_miss_refresh, latest.fetched_at)
                return latest
            now = self._clock()
            if now - self._last_miss_refresh < self.kid_miss_cooldown or now < self._retry_at:
                return current
            self._fetching = True  # before the cooldown starts, so no lookup sees one without the other
            self._last_miss_refresh = now
            try:
                return self._fetch_locked()
            except JwksError:
                # The kid stays unknown (a 401, like any unknown kid); the stale-if-error and backoff
                # bookkeeping already happened in _fetch_locked.
                return self._current or current

    def _record_failure(self, error: JwksError) -> None:
        self._failures += 1
        self._last_error = error
        exponent = min(self._failures - 1, _MAX_BACKOFF_EXPONENT)
        delay = min(self.backoff_max, self.backoff_initial * 2.0**exponent)
        self._retry_at = self._clock() + delay
