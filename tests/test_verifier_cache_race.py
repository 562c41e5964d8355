"""A token-cache miss is looked up without the lock; a hit that vanishes before the lock is a fresh verify.

``CognitoVerifier.verify`` tests membership without the cache lock (the fourth pass on the fresh verify:
a new token no longer pays for the lock) and takes the lock only to move a hit to the most recent
place. Another thread may evict or forget the entry in between; the token must then be verified afresh,
never answered from a stale entry, and the cache must hold a real entry afterwards.
"""

from __future__ import annotations

from typing import Any

from cognito_authz import CognitoVerifier
from cognito_authz.testing import LocalIssuer


class _VanishingCache(dict[str, Any]):
    """A cache whose entries are forgotten, as by another thread, right after a membership test."""

    vanished = 0

    def __contains__(self, key: object) -> bool:
        found = super().__contains__(key)
        if found:
            del self[key]  # type: ignore[arg-type]
            type(self).vanished += 1
        return found


def _verifier(issuer: LocalIssuer) -> CognitoVerifier:
    verifier = issuer.verifier("access", token_cache_size=4)
    verifier._token_cache = _VanishingCache()
    return verifier


def test_an_entry_gone_before_the_lock_is_verified_afresh() -> None:
    issuer = LocalIssuer(serve=False)
    token = issuer.mint_access_token(username="racer")
    verifier = _verifier(issuer)
    first = verifier.verify(token)
    cache = verifier._token_cache
    assert cache is not None
    assert cache[token][0] is first
    before = _VanishingCache.vanished
    second = verifier.verify(token)  # found, then gone: verified again, cached again
    assert _VanishingCache.vanished == before + 1
    assert second == first
    assert second is not first  # a fresh principal, not the vanished entry's
    assert cache[token][0] is second


def test_a_present_entry_is_a_hit_and_the_most_recent() -> None:
    issuer = LocalIssuer(serve=False)
    tokens = [issuer.mint_access_token(username=f"user{n}") for n in range(3)]
    verifier = issuer.verifier("access", token_cache_size=3)
    principals = [verifier.verify(token) for token in tokens]
    assert verifier.verify(tokens[0]) is principals[0]  # a hit hands out the cached principal
    cache = verifier._token_cache
    assert cache is not None
    assert list(cache) == [tokens[1], tokens[2], tokens[0]]
