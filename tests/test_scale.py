"""Scale: 100,000 distinct tokens through one verifier, and decisions at 10,000 rules.

Memory must stay bounded whatever callers send: the verified-token cache never holds more than its size,
only tokens that verified enter it, the key cache keeps the issuer's keys and nothing else (a flood of
random kids costs at most one extra JWKS fetch per cooldown), and the remembered-header table stays
capped. Signing 100,000 RS256 tokens would take minutes on two cores, so the stream is 2,000 signed
tokens (a cache of 256 filled nearly eight times over) plus 98,000 distinct invalid ones: 20,000 carry a
real signature over other claims (full parse and RSA work, then rejected), 78,000 an unknown kid.

``decide`` must not change its answers as a policy grows: the same requests get the same decisions from
a 10-rule policy and from a 10,000-rule policy that contains it. How flat the cost stays is measured by
``python -m bench`` (docs/performance.md), never asserted here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from cognito_authz import CognitoVerifier
from cognito_authz.errors import InvalidSignatureError, UnknownKeyError
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal
from cognito_authz.testing import LocalIssuer

CACHE_SIZE = 256
SIGNED = 2_000
FORGED = 20_000
TOTAL = 100_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@pytest.fixture
def served_issuer() -> Iterator[LocalIssuer]:
    """An issuer of our own (its request count is this test's alone)."""
    with LocalIssuer() as issuer:
        yield issuer


def _cached(verifier: CognitoVerifier) -> dict[str, Any]:
    # The bound is what this test is about, so it reads the cache itself.
    cache = verifier._token_cache
    assert cache is not None
    return cache  # type: ignore[return-value]


def test_caches_stay_bounded_under_100k_distinct_tokens(served_issuer: LocalIssuer) -> None:
    issuer = served_issuer
    verifier = issuer.verifier("access", token_cache_size=CACHE_SIZE)
    verifier.hydrate()
    kids = verifier.jwks_cache().kids
    fetches = issuer.request_count
    seen = 0

    # 1. Valid tokens, each distinct: the cache fills, then evicts the least recently used.
    signed = [issuer.mint_access_token(username=f"user{n}", groups=["g"]) for n in range(SIGNED)]
    for index, token in enumerate(signed):
        assert verifier.verify(token).username == f"user{index}"
        seen += 1
        assert len(_cached(verifier)) == min(index + 1, CACHE_SIZE)
    cache = _cached(verifier)
    assert list(cache) == signed[-CACHE_SIZE:]  # exactly the most recent, in order
    assert verifier.verify(signed[0]).username == "user0"  # evicted, verified afresh, cached again
    assert signed[0] in _cached(verifier)
    assert len(_cached(verifier)) == CACHE_SIZE

    # 2. Distinct tokens with a real signature over other claims: parsed, RSA-checked, rejected.
    header, _, signature = signed[-1].split(".")
    payload = json.loads(base64.urlsafe_b64decode(signed[-1].split(".")[1] + "=="))
    for n in range(FORGED):
        payload["jti"] = f"forged-{n}"
        token = f"{header}.{_b64(json.dumps(payload).encode())}.{signature}"
        with pytest.raises(InvalidSignatureError):
            verifier.verify(token)
        seen += 1

    # 3. Distinct tokens naming kids the issuer never had: the key cache refetches at most once per
    # cooldown and keeps only the issuer's keys.
    body = _b64(json.dumps(payload).encode())
    for n in range(TOTAL - SIGNED - FORGED):
        head = _b64(json.dumps({"kid": f"random-kid-{n}", "alg": "RS256"}).encode())
        with pytest.raises(UnknownKeyError):
            verifier.verify(f"{head}.{body}.{signature}")
        seen += 1

    assert seen == TOTAL
    assert len(_cached(verifier)) == CACHE_SIZE
    assert all(token in signed for token in _cached(verifier))  # nothing invalid ever cached
    assert verifier.jwks_cache().kids == kids
    assert issuer.request_count - fetches <= 1  # one kid-miss refetch inside the 30 s cooldown
    assert len(verifier._parser._headers) <= 64  # remembered headers: capped (flooded kids included)
    assert verifier.verify(signed[-1]).username == f"user{SIGNED - 1}"  # still serving, from the cache


# --- decide at 10 and at 10,000 rules -----------------------------------------------------------------

CORE: list[dict[str, Any]] = [
    {"id": "admin", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
    {"id": "health", "routes": ["GET /health"]},
    {"id": "read-orders", "routes": ["GET /orders", "GET /orders/{orderId}"], "when": {"scopes": ["o/r"]}},
    {
        "id": "write-orders",
        "routes": ["POST /orders", "PUT /orders/{orderId}"],
        "when": {"groups": ["clerk"], "all_scopes": ["o/r", "o/w"]},
    },
    {"id": "own-profile", "routes": ["GET /users/{userId}"], "when": {"claims": {"sub": "{userId}"}}},
    {
        "id": "tenant-guard",
        "effect": "deny",
        "routes": ["ANY /tenants/{tenantId}/{proxy+}"],
        "unless": {"claims": {"custom:tenant_id": "{tenantId}"}},
    },
    {"id": "tenant-read", "routes": ["GET /tenants/{tenantId}/{proxy+}"], "when": {"groups": ["member"]}},
    {
        "id": "no-contractors",
        "effect": "deny",
        "routes": ["ANY /billing/{proxy+}"],
        "when": {"groups": ["c"]},
    },
    {"id": "billing", "routes": ["GET /billing/{proxy+}"], "when": {"scopes": ["billing/read"]}},
    {"id": "connect", "routes": ["$connect"], "when": {"token_use": ["access"]}},
]


def _filler(k: int) -> dict[str, Any]:
    """Rule ``k`` of the other 9,990: its own service, one of four shapes (as in bench/decide.py)."""
    base = f"/svc{k // 4}/items"
    shape = k % 4
    if shape == 0:
        return {"id": f"f{k}", "routes": [f"GET {base}", f"GET {base}/{{i}}"], "when": {"scopes": ["o/r"]}}
    if shape == 1:
        return {"id": f"f{k}", "routes": [f"POST {base}"], "when": {"groups": ["clerk", f"team{k % 50}"]}}
    if shape == 2:
        return {"id": f"f{k}", "routes": [f"GET {base}/{{i}}/{{rest+}}"], "when": {"claims": {"sub": "*"}}}
    return {"id": f"f{k}", "effect": "deny", "routes": [f"DELETE {base}/{{i}}"], "when": {"groups": ["c"]}}


def _principals() -> list[Principal]:
    def make(sub: str, groups: list[str], scopes: list[str], tenant: str | None) -> Principal:
        claims: dict[str, Any] = {"sub": sub, "cognito:groups": groups, "scope": " ".join(scopes)}
        claims["token_use"] = "access"
        if tenant is not None:
            claims["custom:tenant_id"] = tenant
        return Principal.from_claims(claims)

    return [
        make("u-admin", ["admin"], [], "acme"),
        make("u-clerk", ["clerk"], ["o/r", "o/w"], "acme"),
        make("u-reader", [], ["o/r", "billing/read"], None),
        make("u-member", ["member", "c"], ["billing/read"], "globex"),
        make("u-nobody", [], [], None),
    ]


REQUESTS = [
    ("GET", "/health"),
    ("GET", "/orders"),
    ("GET", "/orders/42"),
    ("PUT", "/orders/42"),
    ("DELETE", "/orders/42"),
    ("POST", "/orders"),
    ("GET", "/users/u-reader"),
    ("GET", "/users/someone"),
    ("GET", "/tenants/acme/projects/1"),
    ("GET", "/tenants/globex/projects/1"),
    ("POST", "/tenants/globex/projects"),
    ("GET", "/billing/invoices/7"),
    ("get", "/orders/%34%32"),
    ("GET", "/svc3/items/1"),  # a filler route in the big policy: no rule of the small one matches
    ("GET", "$connect"),
    ("GET", "/nowhere"),
]


def _shown(policy: Policy, principal: Principal, method: str, path: str) -> tuple[Any, ...]:
    d = policy.decide(principal, method, path)
    return (d.allowed, d.reason, d.rules, d.route, dict(d.path_params), d.considered)


def test_decide_at_10_000_rules_answers_as_at_10() -> None:
    small = Policy.from_dict({"version": 1, "rules": CORE})
    big = Policy.from_dict({"version": 1, "rules": [*CORE, *(_filler(k) for k in range(9_990))]})
    assert (len(small.rules), len(big.rules)) == (10, 10_000)
    for principal in _principals():
        for method, path in REQUESTS:
            expected = _shown(small, principal, method, path)
            got = _shown(big, principal, method, path)
            if path.startswith("/svc"):
                # Only the big policy has this route: an extra candidate, never a different core verdict.
                assert got[1] != "evaluation_error"
                continue
            assert got == expected, (principal.sub, method, path)


def test_equivalent_services_decide_alike_wherever_they_sit_in_a_10_000_rule_policy() -> None:
    big = Policy.from_dict({"version": 1, "rules": [*CORE, *(_filler(k) for k in range(9_990))]})
    first_services = range(0, 8)  # the first two of each shape
    last_services = range(9_990 // 4 - 8, 9_990 // 4)
    for principal in _principals():
        for early, late in zip(first_services, last_services, strict=True):
            for method, tail in (("GET", "/items/1"), ("POST", "/items"), ("GET", "/items/1/a/b")):
                for verb in (method, "DELETE"):
                    a = big.decide(principal, verb, f"/svc{early}{tail}")
                    b = big.decide(principal, verb, f"/svc{late}{tail}")
                    assert (a.allowed, a.reason, len(a.rules)) == (b.allowed, b.reason, len(b.rules))
