"""One proof, many principals: principal-wide IAM documents reused across principals that differ only
in the values of template-bound claims (``sub`` in an own-profile rule, a tenant id in a tenant guard).

``build_principal_policy`` proves a document once for a placeholder twin of the principal and renames it
for every equivalent principal. These tests push several principals through one policy, in random
order, with values that collide with each other, with route literals and with nothing, and hold every
document to the engine: exact when principal-wide, never allowing what ``decide`` denies, and equal to
what a cold (memo-less) build gives.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.iam import MethodArn, build_principal_policy, document_size
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

ARN = MethodArn.parse("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders")
VERBS = ("GET", "PUT", "POST", "DELETE")
# Route literals of POLICY (orders, users, tenants, projects, me) are among the values on purpose.
VALUES = ("u-1", "u-2", "acme", "globex", "orders", "me", "x0", "a.b", "a b", "50%", "*", "~0~")

POLICY = Policy.from_dict(
    {
        "version": 1,
        "rules": [
            {"id": "admin", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
            {"id": "read-orders", "routes": ["GET /orders", "GET /orders/{orderId}"]},
            {
                "id": "own-profile",
                "routes": ["GET /users/{userId}", "PUT /users/{userId}"],
                "when": {"claims": {"sub": "{userId}"}},
            },
            {"id": "me", "routes": ["GET /users/me"]},
            {
                "id": "tenant-projects",
                "routes": ["ANY /tenants/{tenantId}/projects", "GET /tenants/{tenantId}/projects/{p}"],
                "when": {"groups": ["member"], "claims": {"custom:tenant_id": "{tenantId}"}},
            },
            {
                "id": "no-deleting-own-manager",
                "effect": "deny",
                "routes": ["DELETE /tenants/{tenantId}/projects"],
                "when": {"claims": {"custom:manager": "{tenantId}"}},
            },
        ],
    }
)


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _allows(document: dict[str, Any], arn: str) -> bool:
    allowed = False
    for statement in document["Statement"]:
        if any(_glob(resource).fullmatch(arn) for resource in statement["Resource"]):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


def _principal(sub: str, tenant: str | None, manager: str | None, groups: list[str]) -> Principal:
    claims: dict[str, Any] = {"sub": sub, "cognito:groups": groups, "token_use": "access"}
    if tenant is not None:
        claims["custom:tenant_id"] = tenant
    if manager is not None:
        claims["custom:manager"] = manager
    return Principal.from_claims(claims)


def _requests(principals: list[Principal]) -> list[tuple[str, str]]:
    values = list(VALUES)
    for principal in principals:
        values += [str(v) for v in principal.claims.values() if isinstance(v, str)]
    safe = [v for v in dict.fromkeys(values) if "/" not in v and v not in (".", "..")]
    out = [("GET", "/orders"), ("GET", "/users/me"), ("GET", "/orders/7/items")]
    for value in safe:
        for verb in VERBS:
            out += [
                (verb, f"/users/{value}"),
                (verb, f"/tenants/{value}/projects"),
                (verb, f"/tenants/{value}/projects/{value}"),
                (verb, f"/orders/{value}"),
            ]
    return out


PRINCIPALS = st.builds(
    _principal,
    sub=st.sampled_from(VALUES),
    tenant=st.one_of(st.none(), st.sampled_from(VALUES)),
    manager=st.one_of(st.none(), st.sampled_from(VALUES)),
    groups=st.sampled_from([[], ["member"], ["admin"], ["member", "admin"]]),
)


def _check(principal: Principal, requests: list[tuple[str, str]]) -> dict[str, Any]:
    result = build_principal_policy(POLICY, principal, ARN, max_bytes=1 << 20)
    assert result.size == document_size(result.document)  # rendered sizes are computed, not re-encoded
    for verb, path in requests:
        allowed = POLICY.decide(principal, verb, path).allowed
        iam = _allows(result.document, ARN.with_resource(verb, path))
        assert allowed or not iam, f"IAM allows {verb} {path} that decide denies: {principal}\n{result}"
        if result.scope == "principal":
            assert iam == allowed or not result.exact, f"inexact on {verb} {path}: {principal}\n{result}"
    return result.document


@settings(max_examples=60, deadline=None)
@given(st.lists(PRINCIPALS, min_size=2, max_size=5))
def test_documents_stay_exact_for_every_principal_sharing_a_proof(principals: list[Principal]) -> None:
    requests = _requests(principals)
    for principal in principals:
        _check(principal, requests)


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="aZ09-", max_size=8),
        st.text(alphabet="aZ09-._~%*?/:$ \t\u00e9\u0130\u212a", max_size=8),
        st.text(max_size=6),
        st.builds(lambda n, c: c * n, st.integers(250, 262), st.sampled_from(["a", "-", "7"])),
        st.uuids().map(str),
    )
)
def test_plain_value_answers_as_plain_segment(value: str) -> None:
    # The renaming's fast test of a claim value (letters, digits and '-') and the full one agree.
    from cognito_authz.iam.patterns import plain_segment
    from cognito_authz.iam.renaming import plain_value

    assert plain_value(value) == plain_segment(value)


def test_a_value_that_is_a_segment_of_another_claims_greedy_value_is_not_renamed() -> None:
    # Found by the property test: tenant "acme" renamed to a placeholder while a list claim bound to a
    # greedy parameter held "acme/admin". The stand-in kept "acme/admin", so its document allowed
    # /acme/admin, rendered for the caller as /~0~/admin: a request decide denies (and /acme/admin,
    # which it allows, refused). A value equal to a segment of another compared text is never renamed.
    from naive_iam import naive_allows

    from cognito_authz.iam import clear_memo

    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [
                {
                    "id": "r0",
                    "routes": ["ANY /{rest+}"],
                    "when": {"claims": {"list": "{rest}"}},
                    "unless": {"claims": {"tenant": "{rest}"}},
                }
            ],
        }
    )
    prefix = "arn:aws:execute-api:eu-west-1:123456789012:api1/prod/"
    clear_memo()
    for claims in ({"tenant": "t"}, {"tenant": "acme", "list": ["t", "acme/admin", "v0"]}):
        caller = Principal(sub="t", groups=(), scopes=(), token_use="id", client_id="c", claims=claims)
        result = build_principal_policy(policy, caller, MethodArn.parse(prefix + "GET/t"))
        assert result.scope == "principal"
        for path in ("/acme/admin", "/~0~/admin", "/t", "/v0", "/acme"):
            decided = policy.decide(caller, "GET", path).allowed
            assert naive_allows(result.document, f"{prefix}GET{path}") == decided, (claims, path)
