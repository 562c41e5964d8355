"""A new caller of a memoized shape gets the stand-in's settled answer filled with its own values
(``renaming.AnswerTemplate``): the same answer, field for field, as the slower way it replaced, where the
stand-in's proof is rendered for the caller (``renaming.render``), the current request is guarded through
σ, and the size is taken by encoding the whole document as JSON.

Two layers are held to that: the template against ``render`` and ``document_size`` on arbitrary
documents (placeholders in several places, values that collide with other segments, braces, non-ASCII
values), and whole answers against ``_finish`` over the rendered proof, for callers whose values collide
with route literals, with each other and with placeholders, on requests that hold their own values,
other callers' values and placeholders, under size limits that cut some documents to request scope.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.iam import (
    MethodArn,
    build_principal_policy,
    builder,
    caller_key,
    clear_memo,
    document_size,
)
from cognito_authz.iam.renaming import AnswerTemplate, render
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/"

# --- the template against render ----------------------------------------------------------------------

SEGMENTS = st.sampled_from(["~0~", "~1~", "acme", "u-1", "x", "*", "?*", "", "{0}", "{", "}}", "é", "."])
RESOURCES = st.one_of(
    st.lists(SEGMENTS, max_size=5).map(lambda s: PREFIX + "GET/" + "/".join(s)),
    st.lists(SEGMENTS, max_size=3).map(lambda s: PREFIX + "*/" + "/".join(s)),
    st.sampled_from(["*", PREFIX + "*", PREFIX + "*%*", "arn:aws:execute-api:r:1:other/prod/GET/~0~"]),
)
VALUE_SETS = st.sampled_from(
    [
        {"~0~": "acme"},
        {"~0~": "u-1", "~1~": "acme"},
        {"~0~": "bob", "~1~": "ümlaut-ß"},
        {"~0~": "0000-1111-2222-3333", "~1~": "x"},
        {"~1~": "z"},
    ]
)


def _longest(document: dict[str, Any]) -> int:
    return max(len(r) for s in document["Statement"] for r in s["Resource"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(RESOURCES, min_size=1, max_size=5), min_size=1, max_size=3), VALUE_SETS)
def test_a_filled_template_is_the_rendered_document_with_its_size(
    resources: list[list[str]], values: dict[str, str]
) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": list(r)}
            for effect, r in zip(["Allow", "Deny", "Allow"], resources, strict=False)
        ],
    }
    template = AnswerTemplate(document, PREFIX, tuple(sorted(values)), document_size(document))
    expected = render(document, PREFIX, values)
    filled = template.fill(values)
    # The template declines exactly when a segment other than a placeholder equals a value (σ would
    # rename that segment too); otherwise it gives render's document, its encoded size and its longest
    # Resource.
    segments = {
        part
        for s in document["Statement"]
        for r in s["Resource"]
        if r.startswith(PREFIX) and "/" in r[len(PREFIX) :]
        for part in r[len(PREFIX) :].partition("/")[2].split("/")
        if part not in values
    }
    assert (filled is None) == bool(segments & set(values.values()))
    if filled is not None:
        rendered, size, longest = filled
        assert rendered == expected
        assert size == document_size(expected)
        assert longest == _longest(expected)


def test_a_filled_answer_shares_nothing_mutable_with_the_template() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [PREFIX + "GET/u/~0~"]}
        ],
    }
    template = AnswerTemplate(document, PREFIX, ("~0~",), document_size(document))
    document["Statement"][0]["Resource"].append("changed after the template was made")
    first = template.fill({"~0~": "a"})
    assert first is not None
    first[0]["Statement"][0]["Resource"].append("tampered")
    first[0]["Statement"][0]["Effect"] = "Deny"
    again = template.fill({"~0~": "a"})
    assert again is not None
    assert again[0]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [PREFIX + "GET/u/a"]}
    ]


# --- whole answers against the rendered-proof way -----------------------------------------------------

POLICY = Policy.from_dict(
    {
        "version": 1,
        "rules": [
            {
                "id": "read-orders",
                "routes": ["GET /orders", "GET /orders/{orderId}"],
                "when": {"scopes": ["r"]},
            },
            {
                "id": "own-profile",
                "routes": ["GET /users/{userId}", "PUT /users/{userId}"],
                "when": {"claims": {"sub": "{userId}"}},
            },
            {"id": "me", "routes": ["GET /users/me"]},
            {
                "id": "tenant",
                "routes": ["ANY /tenants/{tenantId}/projects", "GET /tenants/{tenantId}/projects/{p}"],
                "when": {"claims": {"custom:tenant_id": "{tenantId}"}},
            },
            {"id": "admin", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
            {
                "id": "tenant-guard",
                "effect": "deny",
                "routes": ["ANY /tenants/{tenantId}/{proxy+}"],
                "unless": {"claims": {"custom:tenant_id": "{tenantId}"}},
            },
        ],
    }
)
# Route literals (orders, users, me, projects, tenants) and a placeholder's spelling are among the values.
VALUES = ("u-1", "u-2", "acme", "globex", "orders", "me", "projects", "x0", "~0~", "a.b", "ü")
PATHS = [
    "/orders",
    "/orders/{v}",
    "/users/{v}",
    "/users/{w}",
    "/users/me",
    "/tenants/{v}/projects",
    "/tenants/{w}/projects/{v}",
    "/tenants/{v}/projects/{v}",
    "/users/~0~",
    "/tenants/~0~/projects/~1~",
    "/users/{v}/deeper",
]
CALLERS = st.tuples(
    st.sampled_from(VALUES),
    st.one_of(st.none(), st.sampled_from(VALUES)),
    st.sampled_from([[], ["admin"]]),
    st.sampled_from(["", "r"]),
)
REQUESTS = st.tuples(
    st.sampled_from(["GET", "PUT", "DELETE"]),
    st.sampled_from(PATHS),
    st.sampled_from(VALUES),
    st.sampled_from(VALUES),
    st.sampled_from([None, True, False]),
    st.sampled_from([8192, 8192, 2400, 600]),
)


def _principal(sub: str, tenant: str | None, groups: list[str], scope: str) -> Principal:
    claims: dict[str, Any] = {"sub": sub, "cognito:groups": groups, "token_use": "access", "scope": scope}
    if tenant is not None:
        claims["custom:tenant_id"] = tenant
    return Principal.from_claims(claims)


def _the_rendered_way(
    principal: Principal, arn: MethodArn, max_bytes: int, allowed: bool | None
) -> builder.PolicyResult:
    # What build_principal_policy did for a new caller before answer templates: the memoized proof
    # rendered for the caller, the request guarded through σ, the size encoded.
    if allowed is None:
        allowed = POLICY.decide(principal, arn.verb or "", arn.path).allowed
    key, renaming = caller_key.caller_key(POLICY, principal, arn, builder.WORK_BUDGET)
    proof = builder._proof_for(POLICY, principal, arn, builder.WORK_BUDGET, key, renaming)
    return builder._finish(POLICY, principal, arn, max_bytes, allowed, proof)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(CALLERS, REQUESTS), min_size=1, max_size=6))
def test_every_new_caller_gets_the_answer_the_rendered_proof_gives(
    calls: list[tuple[tuple[str, str | None, list[str], str], tuple[str, str, str, str, bool | None, int]]],
) -> None:
    clear_memo()
    for (sub, tenant, groups, scope), (verb, path, v, w, allowed, max_bytes) in calls:
        principal = _principal(sub, tenant, groups, scope)
        text = path.replace("{v}", v).replace("{w}", w)
        if "/" in v or "/" in w:
            continue
        arn = MethodArn.parse(f"{PREFIX}{verb}{text}")
        got = build_principal_policy(POLICY, principal, arn, max_bytes=max_bytes, allowed=allowed)
        want = _the_rendered_way(principal, arn, max_bytes, allowed)
        assert (got.scope, got.reason, got.detail, got.rules, got.exact) == (
            want.scope,
            want.reason,
            want.detail,
            want.rules,
            want.exact,
        ), (principal, arn.arn)
        assert got.document == want.document, (principal, arn.arn)
        assert got.size == want.size == document_size(got.document)
        # A repeated caller (the same principal object) gets an equal answer of its own.
        again = build_principal_policy(POLICY, principal, arn, max_bytes=max_bytes, allowed=allowed)
        assert again.document == got.document
        assert again.document is not got.document


def test_a_new_caller_never_sees_what_an_earlier_caller_did_to_its_answer() -> None:
    clear_memo()
    arn = MethodArn.parse(PREFIX + "GET/users/u-1")
    first = build_principal_policy(POLICY, _principal("u-1", None, [], ""), arn)
    assert first.scope == "principal"
    for statement in first.document["Statement"]:
        statement["Resource"].append(PREFIX + "*")
        statement["Effect"] = "Allow"
    second = build_principal_policy(
        POLICY, _principal("u-2", None, [], ""), MethodArn.parse(PREFIX + "GET/users/u-2")
    )
    resources = [r for s in second.document["Statement"] for r in s["Resource"]]
    assert PREFIX + "*" not in resources
    assert PREFIX + "GET/users/u-2" in resources
    assert not any("u-1" in r for r in resources)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([("", []), ("r", []), ("", ["admin"]), ("r", ["admin"])]),
    st.one_of(st.none(), st.sampled_from(VALUES)),
    st.lists(st.tuples(st.sampled_from(["GET", "PUT", "DELETE"]), st.sampled_from(PATHS)), min_size=2),
    st.sampled_from([None, True, False]),
)
def test_new_callers_of_one_shape_asking_new_paths_get_the_rendered_answer(
    shape: tuple[str, list[str]], tenant: str | None, requests: list[tuple[str, str]], allowed: bool | None
) -> None:
    # Requests the shape's document answers as decide does share one settled template whatever their
    # ARN; the others are settled for their own ARN. Each caller is new (its own sub) and each asks a
    # path no caller of the shape asked before, covered or not, allowed or not (or with a verdict the
    # caller decided on more than the ARN), and must get exactly what the rendered proof gives.
    scope, groups = shape
    clear_memo()
    for index, (verb, path) in enumerate(requests):
        sub = f"user-{index}"
        principal = _principal(sub, tenant, groups, scope)
        text = path.replace("{v}", f"n{index}").replace("{w}", sub)
        arn = MethodArn.parse(f"{PREFIX}{verb}{text}")
        got = build_principal_policy(POLICY, principal, arn, allowed=allowed)
        want = _the_rendered_way(principal, arn, builder.DEFAULT_MAX_BYTES, allowed)
        assert (got.scope, got.reason, got.detail, got.rules, got.exact, got.size) == (
            want.scope,
            want.reason,
            want.detail,
            want.rules,
            want.exact,
            want.size,
        ), (principal, arn.arn)
        assert got.document == want.document, (principal, arn.arn)
