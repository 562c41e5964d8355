"""Verify-path rows: our verifier against the RSA floor and against peer libraries, in one run.

The floor is cryptography's bare RSA PKCS#1 v1.5 SHA-256 verify of the token's own signature with a
prebuilt public key: nothing can verify a token faster. Budgets (docs/performance.md): a fresh token
<= 1.7x the floor, a repeated token <= 0.1x. Peers verify the same token with a prebuilt key and check
its time claims, as ours does; they have no budget, they are the bar to beat.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from bench._rows import Row, Setup
from cognito_authz import CognitoVerifier

__all__ = ["FRESH_BUDGET", "REPEATED_BUDGET", "run"]

FRESH_BUDGET = 1.7
REPEATED_BUDGET = 0.1


def _peers(setup: Setup) -> dict[str, Callable[[], object]]:
    """Other libraries verifying the same token (each skipped when not installed)."""
    issuer, token = setup.issuer, setup.token
    public = issuer.private_key().public_key()
    jwk = next(k for k in issuer.jwks["keys"] if k["kid"] == issuer.kid)
    peers: dict[str, Callable[[], object]] = {}
    try:
        import jwt

        peers["pyjwt jwt.decode (prebuilt key)"] = lambda: jwt.decode(
            token, key=public, algorithms=["RS256"], issuer=issuer.issuer
        )
    except ImportError:
        pass
    try:
        from jose import jwt as jose_jwt

        peers["python-jose jwt.decode"] = lambda: jose_jwt.decode(
            token, jwk, algorithms=["RS256"], issuer=issuer.issuer
        )
    except ImportError:
        pass
    try:
        from joserfc import jwt as joserfc_jwt
        from joserfc.jwk import RSAKey

        rfc_key = RSAKey.import_key(jwk)
        registry = joserfc_jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer.issuer}, exp={"essential": True}
        )

        def joserfc_decode() -> object:
            decoded = joserfc_jwt.decode(token, rfc_key, algorithms=["RS256"])
            registry.validate(decoded.claims)
            return decoded

        peers["joserfc jwt.decode + claims registry"] = joserfc_decode
    except ImportError:
        pass
    try:
        with warnings.catch_warnings():
            # authlib.jose announces its own deprecation (in favour of joserfc) through a filter that
            # authlib.deprecate installs on import: let it install, then ignore on top of it.
            import authlib.deprecate  # noqa: F401

            warnings.simplefilter("ignore")
            from authlib.jose import JsonWebToken

        authlib_jwt = JsonWebToken(["RS256"])
        peers["authlib JsonWebToken.decode + validate"] = lambda: authlib_jwt.decode(token, public).validate()
    except ImportError:
        pass
    return peers


def run(setup: Setup) -> list[Row]:
    """Peers and our verify rows, each timed against the floor."""
    issuer, token = setup.issuer, setup.token

    def verifier(**kwargs: Any) -> CognitoVerifier:
        built = issuer.verifier("access", **kwargs)
        built.verify(token)  # keys parsed and cached before timing, as in a warm Lambda
        return built

    uncached = verifier(token_cache_size=0)
    cached = verifier()
    # Distinct tokens cycled through an LRU half their number: every call misses, so this is a fresh
    # verify *with* the cache's bookkeeping (lookup, insert, eviction), the realistic miss path.
    distinct = 64 if setup.quick else 512
    tokens = [issuer.mint_access_token(username=f"user{n}", groups=["support"]) for n in range(distinct)]
    cycling = verifier(token_cache_size=distinct // 2)
    position = [0]

    def next_distinct() -> object:
        position[0] = (position[0] + 1) % distinct
        return cycling.verify(tokens[position[0]])

    rows: list[Row] = []
    if setup.peers:
        for name, fn in _peers(setup).items():
            measured = setup.against_floor(fn)
            rows.append(Row("peers", name, measured.median_us, "us", measured.ratio, "floor"))
    cases: list[tuple[str, Callable[[], object], float]] = [
        ("verify, fresh token (distinct tokens, cache missing)", next_distinct, FRESH_BUDGET),
        ("verify, fresh token (token cache off)", lambda: uncached.verify(token), FRESH_BUDGET),
        ("verify, repeated token (cache hit)", lambda: cached.verify(token), REPEATED_BUDGET),
    ]
    for name, fn, budget in cases:
        measured = setup.against_floor(fn)
        rows.append(Row("verify", name, measured.median_us, "us", measured.ratio, "floor", budget))
    return rows
