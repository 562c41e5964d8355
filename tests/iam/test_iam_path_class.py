"""A new caller's answer found by the class of its request (iam/path_class.py, `_renamed_answer`).

An answer settled without reading the ARN is kept under the image up to its last segment when that one
is fresh (plain, no literal), and handed to every later caller of the shape asking a request of that
class. Each caller here is new and asks a request whose last segment is fresh, a literal, its own value,
a placeholder's spelling, empty or unplain, with decide's verdict or one of its own, under a policy with
a route table (so some requests are unroutable and settle apart); each answer must be exactly what the
rendered proof gives (the way before any answer template).
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from cognito_authz.iam import build_principal_policy, builder, caller_key, clear_memo, path_class
from cognito_authz.iam.arn import MethodArn
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/"

POLICY = Policy.from_dict(
    {
        "version": 1,
        "rules": [
            {"id": "read", "routes": ["GET /orders", "GET /orders/{id}"], "when": {"scopes": ["r"]}},
            {"id": "archive", "routes": ["GET /orders/archive"], "when": {"groups": ["clerk"]}},
            {
                "id": "own",
                "routes": ["GET /users/{u}", "PUT /users/{u}", "GET /users/{u}/orders/{id}"],
                "when": {"claims": {"sub": "{u}"}},
            },
            # custom:tenant_id is compared with a boolean here, so its value is never renamed: a tenant
            # "acme" stays in the key and the document as it is, a fresh-looking text that is no literal.
            {"id": "beta", "routes": ["GET /beta"], "when": {"claims": {"custom:tenant_id": True}}},
            {"id": "home", "routes": ["GET /home/{t}"], "when": {"claims": {"custom:tenant_id": "{t}"}}},
            {"id": "admin", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
            {"id": "no-secret", "effect": "deny", "routes": ["ANY /orders/secret"]},
            {
                "id": "tenant-guard",
                "effect": "deny",
                "routes": ["ANY /tenants/{t}/{proxy+}"],
                "unless": {"claims": {"custom:tenant_id": "{t}"}},
            },
        ],
        # The table: /orders/{id} is routed for GET and DELETE only, /users/{u}/orders/{id} not at all,
        # /docs/{page} only as a table route (no rule names it).
        "api": [
            "GET /orders",
            "GET /orders/{id}",
            "DELETE /orders/{id}",
            "GET /users/{u}",
            "PUT /users/{u}",
            "ANY /tenants/{t}/{proxy+}",
            "GET /docs/{page}",
            "GET /home/{t}",
        ],
    }
)

LAST_SEGMENTS = (
    "42",
    "n-7",
    "-",
    "x9",
    "archive",  # a literal
    "secret",  # a literal a Deny names
    "orders",
    "acme",  # a tenant's value: compared, kept as it is (the sub is the renamed claim)
    "{own}",  # the caller's own value
    "~0~",  # a placeholder's spelling
    "",
    "a.b",
    "%41",
    "ü",
)
PATHS = (
    "/orders/{last}",
    "/orders/{last}",
    "/users/{own}/orders/{last}",
    "/users/{last}",
    "/docs/{last}",
    "/tenants/{last}/x",
    "/home/{last}",
)
SHAPES = st.sampled_from([([], "r"), ([], ""), (["clerk"], "r"), (["admin"], ""), (["admin"], "r")])


def _principal(sub: str, groups: list[str], scope: str, tenant: str | None) -> Principal:
    claims: dict[str, Any] = {"sub": sub, "cognito:groups": groups, "token_use": "access", "scope": scope}
    if tenant is not None:
        claims["custom:tenant_id"] = tenant
    return Principal.from_claims(claims)


def _the_rendered_way(principal: Principal, arn: MethodArn, allowed: bool | None) -> builder.PolicyResult:
    if allowed is None:
        allowed = POLICY.decide(principal, arn.verb or "", arn.path).allowed
    key, renaming = caller_key.caller_key(POLICY, principal, arn, builder.WORK_BUDGET)
    proof = builder._proof_for(POLICY, principal, arn, builder.WORK_BUDGET, key, renaming)
    return builder._finish(POLICY, principal, arn, builder.DEFAULT_MAX_BYTES, allowed, proof)


@settings(max_examples=300, deadline=None)
@given(
    SHAPES,
    # "sub": the tenant equals the sub, so neither is renamed (both kept as they are, in the key).
    st.sampled_from([None, "acme", "42", "sub"]),
    st.lists(
        st.tuples(
            st.sampled_from(["GET", "GET", "PUT", "DELETE"]),
            st.sampled_from(PATHS),
            st.sampled_from(LAST_SEGMENTS),
            st.sampled_from([None, True, False]),
        ),
        min_size=2,
        max_size=10,
    ),
)
# A literal the class must not swallow: a reader's /orders/secret (denied by a Deny rule) after
# /orders/42, with the caller's own verdicts (a carve-out, then an unroutable-looking refusal).
@example(
    ([], "r"),
    None,
    [
        ("GET", "/orders/{last}", "42", None),
        ("GET", "/orders/{last}", "secret", True),
        ("GET", "/orders/{last}", "secret", None),
        ("GET", "/orders/{last}", "43", False),
    ],
)
# A kept claim's value ("acme", never renamed: compared with a boolean too) in the last segment: it is
# no literal but tells /home/acme from /home/x9, so the shape's answers are never kept by class.
@example(
    ([], "r"),
    "acme",
    [
        ("GET", "/home/{last}", "acme", None),
        ("GET", "/home/{last}", "x9", True),
        ("GET", "/home/{last}", "x9", None),
        ("GET", "/home/{last}", "acme", False),
    ],
)
def test_callers_of_one_class_get_the_rendered_answer(
    shape: tuple[list[str], str],
    tenant: str | None,
    requests: list[tuple[str, str, str, bool | None]],
) -> None:
    groups, scope = shape
    clear_memo()
    for index, (verb, path, last, allowed) in enumerate(requests):
        # A few subs: callers of one kept-claim shape (tenant == sub) meet again, each a new principal.
        sub = f"u-{index % 3}" if tenant == "sub" else f"u-{index}"
        principal = _principal(sub, groups, scope, sub if tenant == "sub" else tenant)
        text = path.replace("{last}", last.replace("{own}", sub)).replace("{own}", sub)
        arn = MethodArn.parse(f"{PREFIX}{verb}{text}")
        got = build_principal_policy(POLICY, principal, arn, allowed=allowed)
        want = _the_rendered_way(principal, arn, allowed)
        assert (got.scope, got.reason, got.detail, got.rules, got.exact, got.size) == (
            want.scope,
            want.reason,
            want.detail,
            want.rules,
            want.exact,
            want.size,
        ), (principal, arn.arn, allowed)
        assert got.document == want.document, (principal, arn.arn, allowed)


def test_a_class_answer_is_kept_once_and_found_by_the_next_path() -> None:
    # The reader's second new path of a class is answered from the class, keeping nothing new.
    clear_memo()
    for n in range(3):
        arn = MethodArn.parse(f"{PREFIX}GET/orders/{n}")
        build_principal_policy(POLICY, _principal(f"u-{n}", [], "r", None), arn)
        if n == 0:
            kept = dict(builder._TEMPLATES)
    assert dict(builder._TEMPLATES) == kept
    assert any(len(key) == 4 for key in kept)


def test_an_answer_that_names_the_arn_is_never_kept_by_class() -> None:
    # decide allows GET /orders/{id}, but the caller's own verdict on /docs/{page} is an Allow the
    # document does not cover: the ARN is added, so the answer is kept under the image only, and another
    # page gets its own ARN, not the first one's.
    clear_memo()
    first = build_principal_policy(
        POLICY, _principal("u-1", [], "r", None), MethodArn.parse(PREFIX + "GET/docs/p1"), allowed=True
    )
    second = build_principal_policy(
        POLICY, _principal("u-2", [], "r", None), MethodArn.parse(PREFIX + "GET/docs/p2"), allowed=True
    )
    first_resources = [r for s in first.document["Statement"] for r in s["Resource"]]
    second_resources = [r for s in second.document["Statement"] for r in s["Resource"]]
    assert PREFIX + "GET/docs/p1" in first_resources
    assert PREFIX + "GET/docs/p2" in second_resources
    assert PREFIX + "GET/docs/p1" not in second_resources
    assert not any(len(key) == 4 and key[2] is True and "docs" in key[1] for key in builder._TEMPLATES)


def _proof_with(resources: list[str]) -> builder._Proof:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resources}],
    }
    return builder._Proof(document, True, "", "", ())


def test_classes_are_classes_only_for_documents_of_literals_and_whole_wildcards() -> None:
    literal_of = caller_key.last_facts(POLICY)[3]
    renamed = (("custom:tenant_id", "None"), ("sub", "~0~"))
    key = (0, PREFIX, 0, (), (), "access", None, renamed)
    fixed = [PREFIX + "*//*", PREFIX + "*/./*", PREFIX + "*/.", PREFIX + "*/..", PREFIX + "*%*"]
    good = [PREFIX + "GET/orders/*", PREFIX + "GET/orders/*/?*", PREFIX + "GET/users/~0~", PREFIX + "GET/"]
    assert path_class.classes_tell(key, _proof_with(good + fixed).document, PREFIX, literal_of)
    assert path_class.classes_tell(key, None, PREFIX, {})
    # A fresh-looking segment, a wildcard inside a segment, a policy variable, another API: never.
    for bad in ("GET/orders/42", "GET/orders/4*", "GET/orders/?", "GET/users/${aws:username}"):
        document = _proof_with([*good, PREFIX + bad]).document
        assert not path_class.classes_tell(key, document, PREFIX, literal_of), bad
    other = "arn:aws:execute-api:eu-west-1:123456789012:otherapi12/prod/GET/orders/*"
    assert not path_class.classes_tell(key, _proof_with([*good, other]).document, PREFIX, literal_of)
    # A compared claim kept as it is (its value in the key): never.
    kept = (0, PREFIX, 0, (), (), "access", None, (("custom:tenant_id", "'acme'"), ("sub", "~0~")))
    assert not path_class.classes_tell(kept, _proof_with(good).document, PREFIX, literal_of)
