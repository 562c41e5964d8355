"""JWKS cache: the signing keys of one issuer, fetched rarely, parsed once, replaced atomically.

Policy of the cache (DESIGN.md section 5):

* keys are fresh for ``ttl`` seconds after a successful fetch; a key removed upstream dies on the next
  refresh because the whole key set is replaced, never merged;
* a ``kid`` that is not in a fresh key set triggers at most one refetch per ``kid_miss_cooldown`` so a
  flood of random kids costs one request, not one per token;
* concurrent refreshes collapse into one (single flight); the lock is held only while fetching, never
  while a caller verifies a signature;
* stale-if-error: when a refresh fails, the last good keys keep serving until ``ttl + max_stale`` after
  they were fetched, then the cache fails closed with :class:`JwksError`; failures back off exponentially;
* fetching is bounded: a total deadline, a response size cap, no redirects, HTTPS only unless plain HTTP
  is explicitly allowed (local issuers, moto).

``requests`` is imported only when a fetch actually happens, so a Lambda that loads its keys from a
bundled file never pays for it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

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
_CHUNK = 16 * 1024


@dataclass(frozen=True, slots=True)
class Jwk:
    """One entry of a key set. ``key`` is the parsed RSA public key, or ``None`` with ``problem`` set
    when the entry cannot verify anything (kept so the verifier can say *why* rather than "unknown kid").
    """

    kid: str
    kty: str | None
    alg: str | None
    use: str | None
    key: RSAPublicKey | None
    problem: str | None = None

    def key_for(self, alg: str) -> RSAPublicKey:
        """Return the public key if this JWK may verify a token signed with ``alg``."""
        if self.key is None:
            raise InvalidKeyError(f"key {self.kid!r} is unusable: {self.problem}", kid=self.kid)
        if self.alg is not None and self.alg != alg:
            raise InvalidKeyError(
                f"key {self.kid!r} is for {self.alg}, the token header says {alg}", kid=self.kid
            )
        return self.key


def _b64url_uint(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return int.from_bytes(raw, "big") if raw else None


def _parse_jwk(entry: Mapping[str, Any]) -> Jwk:
    kid = entry["kid"]
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
    if alg is not None and not isinstance(alg, str):
        return unusable("alg is not a string")
    n, e = _b64url_uint(entry.get("n")), _b64url_uint(entry.get("e"))
    if n is None or e is None:
        return unusable("n or e missing or not base64url")
    if n.bit_length() < MIN_RSA_BITS:
        return unusable(f"modulus shorter than {MIN_RSA_BITS} bits")
    try:
        key = RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        return unusable(f"invalid RSA numbers ({exc})")
    return Jwk(kid=kid, kty=kty, alg=alg, use=use, key=key)


def parse_jwks(document: Any) -> dict[str, Jwk]:
    """Parse a JWKS document into ``{kid: Jwk}``.

    Entries without a string ``kid`` are ignored (no token can select them). A ``kid`` that appears twice
    is ambiguous and is kept as unusable rather than letting order decide which key verifies.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JwksError("JWKS document is not an object with a 'keys' array", reason="jwks_invalid")
    keys: dict[str, Jwk] = {}
    for entry in document["keys"]:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("kid"), str) or not entry["kid"]:
            continue
        kid = entry["kid"]
        if kid in keys:
            keys[kid] = Jwk(kid=kid, kty=None, alg=None, use=None, key=None, problem="duplicate kid in JWKS")
            continue
        keys[kid] = _parse_jwk(entry)
    return keys


class Fetcher(Protocol):
    """Anything that turns a JWKS URI into the parsed JSON document, raising :class:`JwksError`."""

    def __call__(self, uri: str) -> Any: ...


class HttpFetcher:
    """Bounded HTTP fetch with ``requests``: total deadline, size cap, no redirects, HTTPS by default.

    Pass ``session`` for proxies, a custom CA bundle or connection reuse across verifiers.
    """

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_FETCH_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allow_http: bool = False,
    ) -> None:
        if timeout <= 0 or max_bytes <= 0:
            raise ConfigError("timeout and max_bytes must be positive")
        self._session = session
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_http = allow_http

    def _get_session(self) -> requests.Session:
        if self._session is None:
            import requests  # noqa: PLC0415 - deferred: only a real fetch pays for importing requests

            self._session = requests.Session()
        return self._session

    def __call__(self, uri: str) -> Any:
        if not uri.startswith("https://") and not (self.allow_http and uri.startswith("http://")):
            raise JwksError(
                "JWKS URI must be https:// (pass allow_http=True for a local issuer)",
                reason="jwks_insecure_uri",
            )
        import requests  # noqa: PLC0415

        deadline = time.monotonic() + self.timeout
        try:
            response = self._get_session().get(
                uri,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
                headers={"Accept": "application/json"},
            )
            with response:
                if 300 <= response.status_code < 400:
                    raise JwksError(
                        f"JWKS endpoint answered a redirect ({response.status_code}); not followed",
                        reason="jwks_redirect",
                    )
                if response.status_code != 200:
                    raise JwksError(
                        f"JWKS endpoint answered HTTP {response.status_code}", reason="jwks_fetch_failed"
                    )
                body = bytearray()
                for chunk in response.iter_content(_CHUNK):
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise JwksError(
                            f"JWKS response larger than {self.max_bytes} bytes", reason="jwks_too_large"
                        )
                    if time.monotonic() > deadline:
                        raise JwksError(
                            f"JWKS fetch exceeded its {self.timeout}s deadline", reason="jwks_fetch_failed"
                        )
        except requests.RequestException as exc:
            raise JwksError(
                f"JWKS fetch failed: {type(exc).__name__}", reason="jwks_fetch_failed"
            ) from exc
        if time.monotonic() > deadline:
            raise JwksError(f"JWKS fetch exceeded its {self.timeout}s deadline", reason="jwks_fetch_failed")
        try:
            return json.loads(bytes(body))
        except (ValueError, RecursionError) as exc:
            raise JwksError("JWKS response is not valid JSON", reason="jwks_invalid") from exc


class JwksCache:
    """The key set of one JWKS URI, thread-safe. See the module docstring for the caching policy.

    With ``jwks_uri=None`` the cache never fetches: keys come only from :meth:`load_jwks`.
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
        if min(ttl, kid_miss_cooldown, max_stale, backoff_initial, backoff_max) < 0:
            raise ConfigError("JWKS cache durations must not be negative")
        if fetcher is not None and session is not None:
            raise ConfigError("pass either fetcher or session, not both")
        self.jwks_uri = jwks_uri
        self._fetcher: Fetcher = fetcher or HttpFetcher(
            session=session, timeout=fetch_timeout, max_bytes=max_bytes, allow_http=allow_http
        )
        self.ttl = ttl
        self.kid_miss_cooldown = kid_miss_cooldown
        self.max_stale = max_stale
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._clock = clock

        self._keys: dict[str, Jwk] = {}
        self._fetched_at: float | None = None  # when _keys were obtained; None = nothing loaded yet
        self._static = False  # keys loaded with no URI to refresh from never expire
        self._generation = 0  # bumped on every successful replacement (single-flight check)
        self._failures = 0
        self._retry_at = float("-inf")
        self._last_error: JwksError | None = None
        self._last_miss_refresh = float("-inf")
        self._lock = threading.Lock()
        self.fetch_count = 0

    # -- public API ------------------------------------------------------------------------------

    def get_key(self, kid: str) -> Jwk:
        """Return the JWK for ``kid``, refreshing as the caching policy allows.

        Raises :class:`UnknownKeyError` when the kid is not in the (fresh) key set and
        :class:`JwksError` when no usable key set is available.
        """
        now = self._clock()
        keys, fetched_at, generation = self._keys, self._fetched_at, self._generation
        if fetched_at is None or not self._is_fresh(fetched_at, now):
            keys = self._refresh_or_stale(generation, now)
            generation = self._generation
        jwk = keys.get(kid)
        if jwk is not None:
            return jwk
        if self.jwks_uri is not None and now - self._last_miss_refresh >= self.kid_miss_cooldown:
            self._last_miss_refresh = now
            try:
                keys = self._refresh(generation, now)
            except JwksError:
                keys = self._keys
            jwk = keys.get(kid)
            if jwk is not None:
                return jwk
        raise UnknownKeyError("no key with this kid in the issuer's JWKS", kid=kid)

    def hydrate(self) -> None:
        """Fetch the key set now (cold start), raising :class:`JwksError` if that fails."""
        if self.jwks_uri is None:
            raise ConfigError("hydrate() needs a jwks_uri; use load_jwks() for static keys")
        self._refresh(self._generation, self._clock())

    def load_jwks(self, source: Mapping[str, Any] | str | os.PathLike[str] | None = None, *,
                  env: str | None = None) -> None:
        """Install keys without any network: from a JWKS dict, a JSON file path, JSON text, or the
        environment variable ``env`` holding JSON text or a file path.
        """
        if (source is None) == (env is None):
            raise ConfigError("load_jwks takes exactly one of source or env")
        if env is not None:
            value = os.environ.get(env)
            if not value:
                raise ConfigError(f"environment variable {env} is not set")
            source = value
        document = self._read_source(source)
        keys = parse_jwks(document)
        with self._lock:
            self._install(keys, self._clock())
            self._static = self.jwks_uri is None

    @property
    def kids(self) -> tuple[str, ...]:
        """The kids currently held (usable or not)."""
        return tuple(self._keys)

    # -- internals -------------------------------------------------------------------------------

    @staticmethod
    def _read_source(source: Any) -> Any:
        if isinstance(source, Mapping):
            return source
        text = os.fspath(source)
        if text.lstrip().startswith("{"):
            raw = text
        else:
            try:
                raw = Path(text).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read JWKS file {text}: {exc.strerror}") from exc
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise JwksError("JWKS is not valid JSON", reason="jwks_invalid") from exc

    def _is_fresh(self, fetched_at: float, now: float) -> bool:
        return self._static or self.jwks_uri is None or now - fetched_at < self.ttl

    def _install(self, keys: dict[str, Jwk], now: float) -> None:
        self._keys = keys  # atomic replacement: readers see the old or the new set, never a mix
        self._fetched_at = now
        self._generation += 1
        self._failures = 0
        self._retry_at = float("-inf")
        self._last_error = None

    def _refresh_or_stale(self, generation: int, now: float) -> dict[str, Jwk]:
        """Keys are missing or past their TTL: refresh, or serve the last good set within max_stale."""
        if self.jwks_uri is None:
            raise JwksError("no JWKS loaded and no jwks_uri to fetch from", reason="jwks_unavailable")
        try:
            return self._refresh(generation, now)
        except JwksError:
            fetched_at = self._fetched_at
            if fetched_at is not None and now - fetched_at < self.ttl + self.max_stale:
                return self._keys
            if fetched_at is not None:
                raise JwksError(
                    "JWKS refresh failed and the last good keys are past their maximum age",
                    reason="jwks_stale",
                ) from self._last_error
            raise

    def _refresh(self, generation: int, now: float) -> dict[str, Jwk]:
        """Fetch and install a new key set, at most one fetch in flight (single flight)."""
        assert self.jwks_uri is not None
        with self._lock:
            if self._generation != generation:
                # Another thread installed a new key set while this one waited for the lock.
                return self._keys
            if self._clock() < self._retry_at:
                raise JwksError(
                    "JWKS refresh is backing off after a failure", reason="jwks_backoff"
                ) from self._last_error
            self.fetch_count += 1
            try:
                keys = parse_jwks(self._fetcher(self.jwks_uri))
            except JwksError as exc:
                self._record_failure(exc)
                raise
            except Exception as exc:  # a custom Fetcher must not break the error contract
                error = JwksError(f"JWKS fetcher raised {type(exc).__name__}", reason="jwks_fetch_failed")
                error.__cause__ = exc
                self._record_failure(error)
                raise error from exc
            self._install(keys, self._clock())
            return keys

    def _record_failure(self, error: JwksError) -> None:
        self._failures += 1
        self._last_error = error
        delay = min(self.backoff_max, self.backoff_initial * 2 ** (self._failures - 1))
        self._retry_at = self._clock() + delay
