"""CognitoVerifier: strict parse -> key -> signature -> claims -> Principal (docs/verifier.md).

One verifier serves one or several user pools: it holds a map ``issuer -> JwksCache`` and picks the pool
by the token's *unverified* ``iss``, among configured issuers only, so a token naming any other issuer
costs no fetch. A pool has several issuers (the ORIGINAL and UPDATED forms, and ORIGINAL issuers of
replica regions; see :mod:`cognito_authz.partitions`); each has its own JWKS, and a token's key is looked
up in the JWKS of the issuer it names. Signatures are checked with ``cryptography`` directly (RSA
PKCS#1 v1.5) against the cached public key; a bounded cache of verified tokens answers repeats without
redoing the RSA work while still re-checking time claims, the key's presence and the hooks on every hit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.claim_checks import MAX_TIMESTAMP, required_timestamp, timestamp
from cognito_authz.errors import (
    ConfigError,
    ExpiredTokenError,
    InsufficientClaimsError,
    InvalidClaimError,
    InvalidSignatureError,
    JwksError,
    MissingClaimError,
    NotYetValidError,
    RevokedTokenError,
    TokenError,
    UnknownIssuerError,
    WrongClientError,
    WrongTokenUseError,
)
from cognito_authz.jwks import (
    DEFAULT_FETCH_TIMEOUT,
    DEFAULT_KID_MISS_COOLDOWN,
    DEFAULT_MAX_STALE,
    DEFAULT_TTL,
    Fetcher,
    Jwk,
    JwksCache,
)
from cognito_authz.partitions import ISSUER_FORMS, IssuerForm, issuer_url, pool_region
from cognito_authz.principal import Principal
from cognito_authz.token import DEFAULT_MAX_TOKEN_BYTES, TokenParser
from cognito_authz.verifier_options import option_names, option_number, per_pool, replica_regions_of

if TYPE_CHECKING:
    import os

    import requests

__all__ = [
    "DEFAULT_IAT_LEEWAY",
    "MAX_LEEWAY",
    "CognitoVerifier",
    "TokenUse",
    "cognito_issuer",
    "cognito_issuers",
    "region_of",
]

TokenUse = Literal["id", "access"]

#: Clock skew tolerance is for skew, not for keeping expired tokens alive: more than this is a ConfigError.
MAX_LEEWAY = 300.0
#: How far in the future ``iat`` may be by default. Cognito's and the caller's clocks are independent; a
#: token used the moment it is issued can carry an ``iat`` a second or two ahead of a Lambda's clock. An
#: early ``iat`` grants nothing (``exp`` stays strict), so refusing it only breaks real users. See
#: docs/verifier.md, "Clock skew".
DEFAULT_IAT_LEEWAY = 5.0

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "RS256": hashes.SHA256(),
    "RS384": hashes.SHA384(),
    "RS512": hashes.SHA512(),
}
_PKCS1V15 = padding.PKCS1v15()


def region_of(user_pool_id: str) -> str:
    """The AWS region a user pool id names (``eu-west-1_AbC123`` -> ``eu-west-1``); ConfigError if invalid."""
    return pool_region(user_pool_id)


def cognito_issuer(user_pool_id: str) -> str:
    """The ORIGINAL ``iss`` Cognito puts in tokens of this pool, in the partition of its region."""
    return issuer_url(user_pool_id, "original")


def cognito_issuers(
    user_pool_id: str, forms: Sequence[IssuerForm] = ISSUER_FORMS, replica_regions: Sequence[str] = ()
) -> tuple[str, ...]:
    """Every ``iss`` a pool's tokens can carry: each issuer form, and ORIGINAL issuers of replica regions."""
    issuers = [issuer_url(user_pool_id, form) for form in forms]
    if "original" in forms:
        issuers.extend(issuer_url(user_pool_id, "original", region) for region in replica_regions)
    elif replica_regions:
        raise ConfigError(
            "replica_regions name ORIGINAL issuers; the UPDATED issuer is the same in every region"
        )
    return tuple(dict.fromkeys(issuers))


class _Pool(Frozen):
    """One accepted issuer: the pool it belongs to and the key cache of its JWKS."""

    __slots__ = ("issuer", "jwks", "pool_id")
    pool_id: str
    issuer: str
    jwks: JwksCache

    def __init__(self, pool_id: str, issuer: str, jwks: JwksCache) -> None:
        set_field(self, "pool_id", pool_id)
        set_field(self, "issuer", issuer)
        set_field(self, "jwks", jwks)


#: What a token-cache hit needs to re-check without redoing the signature: principal, exp, nbf, iat,
#: auth_time, the JWKS cache, kid and the key that verified it. A plain tuple: built on every fresh
#: verify, where a NamedTuple instance cost ≈ 1.5k instructions more (docs/performance.md).
_Verified = tuple[Principal, float, float | None, float, float | None, JwksCache, str, Jwk]


class CognitoVerifier:
    """Verify Cognito ID and access tokens of one or several user pools; ``verify`` returns a Principal.

    ``client_id`` and ``token_use`` are keyword-only and have no default: a verifier that accepts any app
    client or either token type must say so with an explicit ``None``. ``jwks_uri`` and ``issuer``
    override the Cognito defaults for local issuers, moto or LocalStack: a string for a single pool, or a
    ``{pool_id: value}`` mapping. ``offline=True`` never fetches keys; they come from :meth:`load_jwks`.

    ``custom_check(principal)`` rejects the token by returning ``False`` or raising a ``TokenError``;
    ``is_revoked(principal)`` returns ``True`` for a revoked token (look at ``principal.claims["jti"]`` and
    ``["origin_jti"]``). Both hooks run on every call, token-cache hits included; an unexpected exception
    from a hook fails closed as a ``TokenError``.
    """

    def __init__(
        self,
        user_pool_id: str | Sequence[str],
        *,
        client_id: str | Sequence[str] | None,
        token_use: TokenUse | None,
        jwks_uri: str | Mapping[str, str] | None = None,
        issuer: str | Mapping[str, str] | None = None,
        issuer_type: IssuerForm | None = None,
        replica_regions: Sequence[str] | Mapping[str, Sequence[str]] = (),
        audience: str | Sequence[str] | None = None,
        leeway: float = 0.0,
        iat_leeway: float = DEFAULT_IAT_LEEWAY,
        max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        algorithms: Sequence[str] = ("RS256",),
        required_scopes: str | Sequence[str] | None = None,
        all_scopes: str | Sequence[str] | None = None,
        required_groups: str | Sequence[str] | None = None,
        all_groups: str | Sequence[str] | None = None,
        max_age: float | None = None,
        custom_check: Callable[[Principal], object] | None = None,
        is_revoked: Callable[[Principal], bool] | None = None,
        allow_http: bool = False,
        offline: bool = False,
        session: requests.Session | None = None,
        fetcher: Fetcher | None = None,
        jwks_ttl: float = DEFAULT_TTL,
        kid_miss_cooldown: float = DEFAULT_KID_MISS_COOLDOWN,
        max_stale: float = DEFAULT_MAX_STALE,
        fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
        token_cache_size: int = 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        pool_ids = option_names(user_pool_id, "user_pool_id")
        if pool_ids is None:
            raise ConfigError("user_pool_id is required")
        if len(set(pool_ids)) != len(pool_ids):
            raise ConfigError("user_pool_id lists a pool twice")
        if token_use not in ("id", "access", None):
            raise ConfigError("token_use must be 'id', 'access' or None (accept both)")
        self.client_ids = option_names(client_id, "client_id")
        self._client_set = frozenset(self.client_ids) if self.client_ids is not None else None
        self.token_use: TokenUse | None = token_use
        self.leeway = option_number(leeway, "leeway", 0.0, MAX_LEEWAY)
        # iat is checked against the larger of the two: leeway widens every time check.
        self.iat_leeway = max(self.leeway, option_number(iat_leeway, "iat_leeway", 0.0, MAX_LEEWAY))
        self.audience = option_names(audience, "audience")
        self._audience_set = frozenset(self.audience) if self.audience is not None else None
        if self.audience is not None and token_use == "id":
            raise ConfigError(
                "audience applies to access tokens; an ID token's aud is its client id (client_id=)"
            )
        if isinstance(max_token_bytes, bool) or not isinstance(max_token_bytes, int) or max_token_bytes < 16:
            raise ConfigError("max_token_bytes must be an integer of at least 16")
        self.max_token_bytes = max_token_bytes
        algs = option_names(algorithms, "algorithms")
        if not algs:
            raise ConfigError("algorithms must name at least one algorithm")
        unsupported = [alg for alg in algs if alg not in _HASHES]
        if unsupported:
            raise ConfigError(f"unsupported algorithms {unsupported}; Cognito signs with RS256")
        self.algorithms = frozenset(algs)
        self._parser = TokenParser(self.algorithms, max_bytes=max_token_bytes)
        self._any_scopes = self._requirement(required_scopes, "required_scopes")
        self._all_scopes = self._requirement(all_scopes, "all_scopes")
        self._any_groups = self._requirement(required_groups, "required_groups")
        self._all_groups = self._requirement(all_groups, "all_groups")
        if token_use == "id" and (self._any_scopes or self._all_scopes):
            raise ConfigError("ID tokens carry no scope claim; scope requirements need token_use='access'")
        self.max_age = (
            None if max_age is None else option_number(max_age, "max_age", 0.0, float(MAX_TIMESTAMP))
        )
        if custom_check is not None and not callable(custom_check):
            raise ConfigError("custom_check must be callable")
        if is_revoked is not None and not callable(is_revoked):
            raise ConfigError("is_revoked must be callable")
        self._custom_check = custom_check
        self._is_revoked = is_revoked
        if not callable(clock):
            raise ConfigError("clock must be callable")
        self._clock = clock
        if type(token_cache_size) is not int or token_cache_size < 0:
            raise ConfigError("token_cache_size must be a non-negative integer (0 disables the cache)")
        self.token_cache_size = token_cache_size
        # A plain dict kept in LRU order (insertion order is recency: a hit is popped and reinserted, the
        # oldest is the first key). Cheaper per fresh verify than an OrderedDict, which allocates a list
        # node per entry and touches it again on eviction (4k instructions and ~20 L1 misses less per
        # insert at 256 entries, measured with callgrind's cache simulation).
        self._token_cache: dict[str, _Verified] | None = {} if token_cache_size else None
        self._cache_lock = threading.Lock()

        issuers = per_pool(issuer, "issuer", pool_ids)
        uris = per_pool(jwks_uri, "jwks_uri", pool_ids)
        if offline and uris:
            raise ConfigError("offline=True never fetches; do not pass jwks_uri")
        if issuer_type is not None and issuer_type not in ISSUER_FORMS:
            raise ConfigError(f"issuer_type must be one of {list(ISSUER_FORMS)} or None (accept both)")
        replicas = replica_regions_of(replica_regions, pool_ids)
        forms: tuple[IssuerForm, ...] = ISSUER_FORMS if issuer_type is None else (issuer_type,)

        def new_cache(uri: str | None) -> JwksCache:
            insecure = uri is not None and not uri.startswith("https://")
            if insecure and not (allow_http and uri is not None and uri.startswith("http://")):
                raise ConfigError(f"jwks_uri {uri} is not https://; pass allow_http=True for a local issuer")
            return JwksCache(
                uri,
                fetcher=fetcher,
                session=session,
                ttl=jwks_ttl,
                kid_miss_cooldown=kid_miss_cooldown,
                max_stale=max_stale,
                fetch_timeout=fetch_timeout,
                allow_http=allow_http,
            )

        # Issuers served from one URI share one cache (one fetch, one set of parsed keys): an explicit
        # jwks_uri serves every issuer of its pool, and offline, each pool has one key store.
        caches: dict[str, JwksCache] = {}
        self._pools: dict[str, _Pool] = {}
        for pool_id in pool_ids:
            if pool_id in issuers:
                if pool_id in replicas or issuer_type is not None:
                    raise ConfigError(
                        "an explicit issuer= is the only issuer; drop issuer_type/replica_regions"
                    )
                pool_issuers: tuple[str, ...] = (issuers[pool_id],)
            else:
                pool_issuers = cognito_issuers(pool_id, forms, replicas.get(pool_id, ()))
            offline_cache = new_cache(None) if offline else None
            for iss in pool_issuers:
                if iss in self._pools:
                    raise ConfigError(f"two user pools share the issuer {iss}")
                uri = uris.get(pool_id) or f"{iss.rstrip('/')}/.well-known/jwks.json"
                cache = offline_cache or caches.get(uri)
                if cache is None:
                    cache = caches[uri] = new_cache(uri)
                self._pools[iss] = _Pool(pool_id, iss, cache)

    @staticmethod
    def _requirement(value: str | Sequence[str] | None, what: str) -> frozenset[str] | None:
        names = option_names(value, what)
        return frozenset(names) if names is not None else None

    # -- public API ------------------------------------------------------------------------------

    @property
    def issuers(self) -> tuple[str, ...]:
        """The accepted ``iss`` values: every issuer form (and replica region) of every configured pool."""
        return tuple(self._pools)

    @property
    def pool_ids(self) -> tuple[str, ...]:
        """The configured user pool ids."""
        return tuple(dict.fromkeys(pool.pool_id for pool in self._pools.values()))

    def jwks_cache(self, pool: str | None = None) -> JwksCache:
        """The key cache of ``pool``: an issuer's own, or for a pool id that of its first issuer (the
        ORIGINAL form unless configured otherwise); the pool id is optional with a single pool."""
        return self._issuers_of(pool)[0].jwks

    def verify(self, token: object) -> Principal:
        """Verify ``token`` and return its Principal.

        Raises a :class:`TokenError` subclass (with a stable ``reason``) for any unacceptable token and
        :class:`JwksError` when the keys cannot be obtained; nothing else.
        """
        cache = self._token_cache
        # A new token (the miss) is one membership test without the lock: a dict lookup of a str key is
        # one C call, which no other thread interleaves. A hit takes the lock to make the token the most
        # recently used, and counts only if the entry is still there: another thread may have evicted
        # or forgotten it since, and then the token is verified afresh.
        if cache is not None and type(token) is str and token in cache:
            # acquire/release rather than ``with``: the same lock, half the instructions.
            lock = self._cache_lock
            lock.acquire()
            try:
                entry = cache.pop(token, None)
                if entry is not None:
                    cache[token] = entry  # now the most recently used
            finally:
                lock.release()
            if entry is not None:
                principal = self._recheck(token, entry)
                if principal is not None:
                    return principal
        return self._verify_fresh(token)

    def hydrate(self) -> None:
        """Fetch the keys of every configured issuer now (cold start).

        A pool need not use every issuer form: one that never switched to the UPDATED issuer has no
        UPDATED JWKS, a replica region may be inactive. So hydrate succeeds when, for every pool, the JWKS
        of at least one of its issuers was fetched; an issuer whose fetch failed is fetched on demand by
        the first token that names it (after that cache's failure backoff). It raises :class:`JwksError`
        (the first failure) only when every issuer of some pool failed, and :class:`ConfigError` for an
        offline verifier.
        """
        done: dict[int, JwksError | None] = {}
        for pool_id in self.pool_ids:
            errors: list[JwksError] = []
            loaded = False
            for pool in self._issuers_of(pool_id):
                if id(pool.jwks) not in done:
                    try:
                        pool.jwks.hydrate()
                        done[id(pool.jwks)] = None
                    except JwksError as exc:
                        done[id(pool.jwks)] = exc
                error = done[id(pool.jwks)]
                if error is None:
                    loaded = True
                else:
                    errors.append(error)
            if not loaded:
                raise errors[0]

    def load_jwks(
        self,
        source: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        issuer: str | None = None,
        env: str | None = None,
    ) -> None:
        """Install keys with no network, from a JWKS dict, a JSON file or text, or the variable ``env``.

        ``issuer`` says whose keys these are: a pool id (optional with a single pool) installs them for
        every issuer of that pool (a bundled JWKS serves the ORIGINAL and UPDATED forms alike: AWS hosts
        the same key set under both); an issuer URL installs them for that issuer only.
        """
        pools = self._issuers_of(issuer)
        seen: set[int] = set()
        for pool in pools:
            if id(pool.jwks) not in seen:
                seen.add(id(pool.jwks))
                pool.jwks.load_jwks(source, env=env)

    def clear_token_cache(self) -> None:
        """Forget every verified token (the next verify of each redoes the signature)."""
        with self._cache_lock:
            if self._token_cache is not None:
                self._token_cache.clear()

    def __repr__(self) -> str:
        return (
            f"CognitoVerifier(issuers={list(self._pools)!r}, client_id={self.client_ids!r}, "
            f"token_use={self.token_use!r})"
        )

    # -- internals -------------------------------------------------------------------------------

    def _issuers_of(self, name: str | None) -> list[_Pool]:
        """The issuers ``name`` stands for: one issuer URL, or every issuer of a pool id (the only pool
        when ``name`` is None)."""
        if name is None:
            if len(self.pool_ids) != 1:
                raise ConfigError("several user pools are configured: name the issuer or pool id")
            return list(self._pools.values())
        pool = self._pools.get(name)
        if pool is not None:
            return [pool]
        pools = [p for p in self._pools.values() if p.pool_id == name]
        if not pools:
            raise ConfigError(f"{name!r} is not a configured issuer or pool id")
        return pools

    def _verify_fresh(self, token: object) -> Principal:
        # Unpacked once: each named field read is one more attribute lookup on the hot path.
        _, claims, signing_input, signature, alg, kid = self._parser.parts(token)
        if "iss" not in claims:
            raise MissingClaimError("token has no iss claim", claim="iss")
        iss = claims["iss"]
        if not isinstance(iss, str):
            raise InvalidClaimError("iss is not a string", claim="iss")
        pool = self._pools.get(iss)
        if pool is None:
            # Decided before any key lookup: an attacker-chosen issuer never causes a fetch.
            raise UnknownIssuerError("iss is not a configured issuer")
        jwk = pool.jwks.get_key(kid)
        key = jwk.key_for(alg)
        try:
            key.verify(signature, signing_input, _PKCS1V15, _HASHES[alg])
        except InvalidSignature:
            raise InvalidSignatureError("signature does not verify", kid=kid) from None

        now = self._clock()
        exp = claims.get("exp")
        iat = claims.get("iat")
        auth_time = claims.get("auth_time")
        leeway = self.leeway
        nbf = None
        if not (
            # The usual token, judged in one expression: integer times in range, unexpired, issued in the
            # past, no nbf, auth_time an integer or (without max_age) absent. Anything else takes the
            # detailed checks below, which raise the precise error.
            type(exp) is int
            and type(iat) is int
            and 0 <= exp <= MAX_TIMESTAMP
            and now - leeway < exp
            and 0 <= iat <= MAX_TIMESTAMP
            and iat <= now + self.iat_leeway
            and "nbf" not in claims
            and (
                (type(auth_time) is int and 0 <= auth_time <= MAX_TIMESTAMP)
                or (auth_time is None and "auth_time" not in claims and self.max_age is None)
            )
        ):
            exp = required_timestamp(claims, "exp")
            iat = required_timestamp(claims, "iat")
            nbf = timestamp(claims, "nbf")
            auth_time = timestamp(claims, "auth_time")
            if auth_time is None and self.max_age is not None:
                raise MissingClaimError(
                    "max_age is configured and the token has no auth_time", claim="auth_time"
                )
            self._check_times(exp, nbf, iat, now)
        client = claims.get("client_id")
        if not (
            # The usual Cognito access token, accepted in one expression: the same verdict as
            # _check_token_use_and_client, which runs (and raises the precise error) for anything else.
            claims.get("token_use") == "access"
            and (self.token_use is None or self.token_use == "access")
            and type(client) is str
            and (self._client_set is None or client in self._client_set)
            and self._audience_set is None
            and "aud" not in claims
        ):
            self._check_token_use_and_client(claims)
        # The claims dict is ours (fresh from the parser); _of_verified checks the claim types first
        # (claim_checks' checks, written into it so that the claims both need are read once).
        principal = Principal._of_verified(claims)
        # Each check below returns at once when its option is off (the usual case); testing the same
        # options here first saves three calls per fresh verify and decides exactly the same way.
        if (
            self._any_scopes is not None
            or self._all_scopes is not None
            or self._any_groups is not None
            or self._all_groups is not None
        ):
            self._check_requirements(principal)
        if self.max_age is not None:
            self._check_max_age(auth_time, now)
        if self._custom_check is not None or self._is_revoked is not None:
            self._run_hooks(principal)

        cache = self._token_cache
        if cache is not None:
            entry: _Verified = (principal, exp, nbf, iat, auth_time, pool.jwks, kid, jwk)
            lock = self._cache_lock
            lock.acquire()
            try:
                cache[token] = entry  # type: ignore[index]  # parse() proved it is a str
                if len(cache) > self.token_cache_size:
                    # The least recently used. Finding the first live entry skips the slots freed by
                    # earlier evictions, a short C-level scan until the dict compacts on its next resize.
                    del cache[next(iter(cache))]
            finally:
                lock.release()
        return principal

    def _recheck(self, token: str, entry: _Verified) -> Principal | None:
        """A cache hit: everything that can change since the first verify is checked again.

        Returns ``None`` when the issuer's key set was replaced since (the signature is then checked
        again against the current key), raises when the token is no longer acceptable.
        """
        principal, exp, nbf, iat, auth_time, jwks, kid, jwk = entry
        try:
            current = jwks.get_key(kid)
        except (TokenError, JwksError):
            self._forget(token)  # the key was removed upstream: the token dies with it
            raise
        if current is not jwk:
            self._forget(token)
            return None
        now = self._clock()
        try:
            self._check_times(exp, nbf, iat, now)
        except ExpiredTokenError:
            self._forget(token)
            raise
        self._check_max_age(auth_time, now)
        self._run_hooks(principal)
        return principal

    def _forget(self, token: str) -> None:
        with self._cache_lock:
            if self._token_cache is not None:
                self._token_cache.pop(token, None)

    def _check_times(self, exp: float, nbf: float | None, iat: float, now: float) -> None:
        leeway = self.leeway
        if now - leeway >= exp:
            raise ExpiredTokenError("token has expired", claim="exp")
        if nbf is not None and nbf > now + leeway:
            raise NotYetValidError("token is not valid yet (nbf)", claim="nbf")
        if iat > now + self.iat_leeway:
            raise NotYetValidError("token is issued in the future (iat)", claim="iat")

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        """An access token's ``aud`` (Cognito sets none; other issuers may): a string or a list of strings
        when present; with ``audience=`` configured it must be present and name one of them."""
        if "aud" not in claims:
            if self._audience_set is not None:
                raise MissingClaimError("access token has no aud claim", claim="aud")
            return
        aud = claims["aud"]
        values = (aud,) if type(aud) is str else aud if type(aud) is list else None
        if values is None or not values or not all(type(value) is str and value for value in values):
            raise InvalidClaimError("aud is not a string or a list of strings", claim="aud")
        if self._audience_set is not None and self._audience_set.isdisjoint(values):
            raise WrongClientError(
                "aud names none of the configured audiences", reason="wrong_audience", claim="aud"
            )

    def _check_token_use_and_client(self, claims: Mapping[str, Any]) -> None:
        use = claims.get("token_use")
        if use is None:
            raise MissingClaimError("token has no token_use claim", claim="token_use")
        if use != "id" and use != "access":
            raise InvalidClaimError("token_use is neither 'id' nor 'access'", claim="token_use")
        if self.token_use is not None and use != self.token_use:
            raise WrongTokenUseError(
                f"an {self.token_use} token is required, got an {use} token",
                claim="token_use",
                expected=self.token_use,
                actual=use,
            )
        if use == "access" and ("aud" in claims or self._audience_set is not None):
            self._check_audience(claims)  # Cognito's access tokens have no aud: usually skipped
        name = "aud" if use == "id" else "client_id"
        if name not in claims:
            if self._client_set is not None:
                raise MissingClaimError(f"{use} token has no {name} claim", claim=name)
            return
        client = claims[name]
        if not isinstance(client, str):
            raise InvalidClaimError(f"{name} is not a string", claim=name)
        if self._client_set is not None and client not in self._client_set:
            raise WrongClientError(f"{name} is not a configured app client", claim=name)

    def _check_requirements(self, principal: Principal) -> None:
        if self._any_scopes is not None and self._any_scopes.isdisjoint(principal.scopes):
            raise InsufficientClaimsError("token has none of the required scopes", claim="scope")
        if self._all_scopes is not None and not self._all_scopes.issubset(principal.scopes):
            raise InsufficientClaimsError("token lacks some of the required scopes", claim="scope")
        if self._any_groups is not None and self._any_groups.isdisjoint(principal.groups):
            raise InsufficientClaimsError("caller is in none of the required groups", claim="cognito:groups")
        if self._all_groups is not None and not self._all_groups.issubset(principal.groups):
            raise InsufficientClaimsError(
                "caller is not in all of the required groups", claim="cognito:groups"
            )

    def _check_max_age(self, auth_time: float | None, now: float) -> None:
        if self.max_age is None or auth_time is None:
            return
        if now - auth_time > self.max_age + self.leeway:
            raise InsufficientClaimsError(
                "authentication is older than max_age", reason="auth_too_old", claim="auth_time"
            )

    def _run_hooks(self, principal: Principal) -> None:
        if self._custom_check is not None:
            try:
                accepted = self._custom_check(principal)
            except (TokenError, JwksError):
                raise
            except Exception as exc:
                raise InsufficientClaimsError(
                    f"custom check raised {type(exc).__name__}", reason="custom_check_failed"
                ) from exc
            if accepted is False:
                raise InsufficientClaimsError("custom check rejected the token", reason="custom_check_failed")
        if self._is_revoked is not None:
            try:
                revoked = self._is_revoked(principal)
            except (TokenError, JwksError):
                raise
            except Exception as exc:
                # A revocation store that cannot answer must not let a possibly revoked token through.
                raise RevokedTokenError(
                    f"revocation check raised {type(exc).__name__}", reason="revocation_check_failed"
                ) from exc
            if revoked:
                raise RevokedTokenError("token has been revoked")
