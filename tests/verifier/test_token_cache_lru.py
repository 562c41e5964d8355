"""The verified-token cache is a least-recently-used cache: a hit makes a token the most recent."""

from __future__ import annotations

from cognito_authz.testing import LocalIssuer


def test_a_hit_protects_a_token_from_the_next_eviction() -> None:
    issuer = LocalIssuer(serve=False)
    first, second, third = (issuer.mint_access_token(username=f"user{n}") for n in range(3))
    verifier = issuer.verifier("access", token_cache_size=2)
    verifier.verify(first)
    verifier.verify(second)
    assert verifier.verify(first).username == "user0"  # a hit: first is now the most recent
    verifier.verify(third)  # evicts the least recently used, which is second
    cache = verifier._token_cache
    assert cache is not None
    assert list(cache) == [first, third]
    verifier.verify(second)  # verified afresh, cached again, evicting first
    assert list(cache) == [third, second]
