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
* fetching is bounded (:mod:`cognito_authz.jwks_http`): a total deadline over every phase, a response
  size cap, no redirects, HTTPS only unless plain HTTP is explicitly allowed (local issuers, moto).
"""

from __future__ import annotations

import base64
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.errors import ConfigError, InvalidKeyError, JwksError, UnknownKeyError
from cognito_authz.jwks_http import (
    DEFAULT_FETCH_TIMEOUT,
    DEFAULT_MAX_BYTES,
    HttpFetcher,
    check_duration,
    loads_strict,
)

if TYPE_CHECKING:
    import requests

__all__ = [
    "DEFAULT_FETCH_TIMEOUT",
    "DEFAULT_MAX_BYTES",
    "Fetcher",
    "HttpFetcher",
    "Jwk",
    "JwksCache",
    "parse_jwks",
]

DEFAULT_TTL = 3600.0
DEFAULT_KID_MISS_COOLDOWN = 30.0
DEFAULT_MAX_STALE = 6 * 3600.0
MIN_RSA_BITS = 2048
#: OpenSSL refuses to verify with larger moduli, so such a key could only ever fail as "bad signature";
#: calling it unusable says why.
MAX_RSA_BITS = 16384
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


class Fetcher(Protocol):
    """Anything that turns a JWKS URI into the parsed JSON document, raising :class:`JwksError`."""

    def __call__(self, uri: str) -> Any: ...


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
        self.ttl = check_duration("ttl", ttl)
        self.kid_miss_cooldown = check_duration("kid_miss_cooldown", kid_miss_cooldown)
        self.max_stale = check_duration("max_stale", max_stale)
        self.backoff_initial = check_duration("backoff_initial", backoff_initial)
        self.backoff_max = check_duration("backoff_max", backoff_max)
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
        # _is_fresh written out: this runs on every verify, and a method call costs more than the test.
        if current is None or (self.jwks_uri is not None and not now - current.fetched_at < self.ttl):
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
        return loads_strict(raw)

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
