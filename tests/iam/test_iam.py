"""``cognito_authz.iam``: execute-api ARNs, policy documents, the IAM matcher and cache-safe policies.

The cache-safe tests use the design example policy (examples/policies/design_example.yaml) with one
principal per persona and check each document against ``Policy.decide`` on a grid of concrete requests
(the exhaustive property lives in ``test_iam_soundness.py``). Document sizes per persona are printed
with ``-s``.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

from cognito_authz.errors import REASONS, ConfigError, EventError, PolicyError
from cognito_authz.iam import (
    DEFAULT_MAX_BYTES,
    HTTP_VERBS,
    MethodArn,
    Statement,
    build_principal_policy,
    cache_safety,
    document_size,
    glob_match,
    iam_allows,
    policy_document,
)
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

# --- ARNs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request",
            ("aws", "us-east-1", "123456789012", "abcdef123", "test", "GET", "/request"),
        ),
        (
            "arn:aws-cn:execute-api:cn-north-1:123456789012:k7xq2v9d1a/prod/POST/orders/42/items",
            ("aws-cn", "cn-north-1", "123456789012", "k7xq2v9d1a", "prod", "POST", "/orders/42/items"),
        ),
        (
            "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:k7xq2v9d1a/v1/DELETE/users/u-1",
            ("aws-us-gov", "us-gov-west-1", "123456789012", "k7xq2v9d1a", "v1", "DELETE", "/users/u-1"),
        ),
        (
            # The root resource: an empty path after the verb (as in AWS's own example ".../GET/").
            "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/prod/GET/",
            ("aws", "us-west-2", "123456789012", "ymy8tbxw7b", "prod", "GET", "/"),
        ),
        (
            # HTTP API default stage.
            "arn:aws:execute-api:eu-west-1:123456789012:r2d4f6h8j0/$default/PUT/users/7",
            ("aws", "eu-west-1", "123456789012", "r2d4f6h8j0", "$default", "PUT", "/users/7"),
        ),
        (
            # WebSocket $connect: no verb; the "path" is the route key.
            "arn:aws:execute-api:us-east-1:123456789012:c5jwxq709g/production/$connect",
            ("aws", "us-east-1", "123456789012", "c5jwxq709g", "production", None, "$connect"),
        ),
        (
            # Path parameter values may contain ':' (timestamps); only the first five colons split.
            "arn:aws:execute-api:eu-central-1:123456789012:abc123/lab/GET/counters/2021-08-01T00:00:00Z",
            ("aws", "eu-central-1", "123456789012", "abc123", "lab", "GET", "/counters/2021-08-01T00:00:00Z"),
        ),
    ],
)
def test_parse_method_arn(arn: str, expected: tuple[Any, ...]) -> None:
    parsed = MethodArn.parse(arn)
    fields = (parsed.partition, parsed.region, parsed.account, parsed.api_id, parsed.stage, parsed.verb)
    assert (*fields, parsed.path) == expected
    assert parsed.arn == arn
    assert str(parsed) == arn
    assert parsed.is_websocket is (parsed.verb is None)


@pytest.mark.parametrize(
    "arn",
    [
        None,
        42,
        "",
        "arn",
        "arn:aws:execute-api:us-east-1:123456789012",  # no resource
        "arn:aws:lambda:us-east-1:123456789012:function:f",  # another service
        "arn:aws-iso:execute-api:us-iso-east-1:123456789012:abc/prod/GET/x",  # unsupported partition
        "arn:AWS:execute-api:us-east-1:123456789012:abc/prod/GET/x",
        "arn:aws:execute-api:useast1:123456789012:abc/prod/GET/x",  # region
        "arn:aws:execute-api:us-east-1:12345678901:abc/prod/GET/x",  # 11-digit account
        "arn:aws:execute-api:us-east-1:1234567890123:abc/prod/GET/x",
        "arn:aws:execute-api:us-east-1:123456789012:abc",  # api id only
        "arn:aws:execute-api:us-east-1:123456789012:abc/prod",
        "arn:aws:execute-api:us-east-1:123456789012:ab-c/prod/GET/x",  # api id charset
        "arn:aws:execute-api:us-east-1:123456789012:abc/pr od/GET/x",  # whitespace
        "arn:aws:execute-api:us-east-1:123456789012:abc/prod/get/x",  # lower-case verb
        "arn:aws:execute-api:us-east-1:123456789012:abc/prod/G3T/x",
        "arn:aws:execute-api:us-east-1:123456789012:abc//GET/x",  # empty stage
        "arn:aws:execute-api:us-east-1:123456789012:abc/prod/$con nect",
        "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/x\n",
        "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/" + "a" * 1600,
    ],
)
def test_bad_method_arns_raise_event_error(arn: object) -> None:
    with pytest.raises(EventError) as info:
        MethodArn.parse(arn)
    assert info.value.reason == "invalid_method_arn"
    assert info.value.status == 500  # a misconfigured gateway, not a bad caller: fail closed
    assert "invalid_method_arn" in REASONS


def test_build_and_with_resource() -> None:
    arn = MethodArn.parse("arn:aws-cn:execute-api:cn-northwest-1:123456789012:abc123/prod/GET/orders/42")
    assert arn.prefix == "arn:aws-cn:execute-api:cn-northwest-1:123456789012:abc123/prod/"
    assert arn.with_resource("*", "/orders/*") == arn.prefix + "*/orders/*"
    assert arn.with_resource("GET", "/") == arn.prefix + "GET/"
    assert arn.with_resource(None, "$connect") == arn.prefix + "$connect"
    built = MethodArn.build(region="*", account="*", api_id="*", stage="test", verb="*", path="/*")
    assert built == "arn:aws:execute-api:*:*:*/test/*/*"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"verb": "get", "path": "/x"},
        {"verb": "GET", "path": "x"},
        {"verb": None, "path": "a/b"},
        {"verb": None, "path": ""},
        {"verb": "GET", "path": "/x", "stage": "a/b"},
        {"verb": "GET", "path": "/x", "region": ""},
    ],
)
def test_build_rejects_arguments_that_cannot_form_an_arn(kwargs: dict[str, Any]) -> None:
    base: dict[str, Any] = {"region": "us-east-1", "account": "123456789012", "api_id": "abc", "stage": "p"}
    with pytest.raises(ConfigError):
        MethodArn.build(**{**base, **kwargs})


# --- documents and the matcher ------------------------------------------------------------------------


def test_policy_document_shape() -> None:
    document = policy_document(
        [Statement("Allow", ("arn:a/GET/x",)), ("Deny", ["arn:a/GET/x/*", "arn:a/POST/*"])]
    )
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ["arn:a/GET/x"]},
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": ["arn:a/GET/x/*", "arn:a/POST/*"]},
        ],
    }
    assert document_size(document) == len(json.dumps(document, separators=(",", ":")))


@pytest.mark.parametrize(
    "bad",
    [
        [("Maybe", ["arn:x"])],
        [("Allow", [])],
        [("Allow", "arn:x")],
        [("Allow", [""])],
        ["Allow"],
    ],
)
def test_policy_document_rejects_bad_statements(bad: list[Any]) -> None:
    with pytest.raises(ConfigError):
        policy_document(bad)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("GET/orders/*", "GET/orders/42", True),
        ("GET/orders/*", "GET/orders/42/secret", True),  # '*' spans '/'
        ("GET/orders/*", "GET/orders/", True),
        ("GET/orders/*", "GET/orders", False),
        ("GET/orders/?", "GET/orders/7", True),
        ("GET/orders/?", "GET/orders/42", False),
        ("GET/Orders/*", "GET/orders/1", False),  # case-sensitive
        ("*", "", True),
        ("", "", True),
        ("a*b*c", "abbbbc", True),
        ("a*b*c", "acb", False),
        ("*/x", "GET/a/b/x", True),
        ("**", "anything", True),
    ],
)
def test_glob_match(pattern: str, text: str, expected: bool) -> None:
    assert glob_match(pattern, text) is expected


PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"


def test_iam_allows_deny_wins_and_default_deny() -> None:
    document = policy_document(
        [Statement("Allow", (PREFIX + "GET/orders/*",)), Statement("Deny", (PREFIX + "GET/orders/*/*",))]
    )
    assert iam_allows(document, PREFIX + "GET/orders/42")
    assert not iam_allows(document, PREFIX + "GET/orders/42/secret")
    assert not iam_allows(document, PREFIX + "POST/orders/42")
    assert not iam_allows(document, PREFIX.replace("prod", "dev") + "GET/orders/42")


def test_iam_allows_matches_arn_components_separately() -> None:
    # A '*' in the region component cannot swallow colons of the path.
    document = {"Statement": {"Effect": "Allow", "Action": "execute-api:*", "Resource": "arn:aws:*:x"}}
    assert not iam_allows(document, "arn:aws:execute-api:r:1:a/s/GET/x")
    everything = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert iam_allows(everything, PREFIX + "GET/")


def test_iam_allows_action_and_unevaluable_statements() -> None:
    other_action = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    assert not iam_allows(other_action, PREFIX + "GET/x")
    mixed_case = {"Statement": [{"Effect": "Allow", "Action": ["EXECUTE-API:invoke"], "Resource": "*"}]}
    assert iam_allows(mixed_case, PREFIX + "GET/x")
    # Conditions cannot be evaluated offline: an Allow with one never allows, a Deny always denies.
    conditional_allow = {
        "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*", "Condition": {}}]
    }
    assert not iam_allows(conditional_allow, PREFIX + "GET/x")
    conditional_deny = {
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
            {"Effect": "Deny", "Action": "execute-api:Invoke", "NotResource": "arn:x"},
        ]
    }
    assert not iam_allows(conditional_deny, PREFIX + "GET/x")


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"Statement": "Allow"},
        {"Statement": [["Allow"]]},
        {"Statement": [{"Effect": "allow", "Action": "execute-api:Invoke", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": 3, "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": []}]},
    ],
)
def test_iam_allows_rejects_malformed_documents(document: Any) -> None:
    with pytest.raises(PolicyError) as info:
        iam_allows(document, PREFIX + "GET/x")
    assert info.value.reason == "invalid_iam_document"


# --- cache-safe policies: the design example ----------------------------------------------------------

DESIGN_POLICY: dict[str, Any] = {
    "version": 1,
    "groups": ["admin", "support", "customer", "contractor"],
    "rules": [
        {
            "id": "admin-everything",
            "effect": "allow",
            "routes": ["ANY /{proxy+}"],
            "when": {"groups": ["admin"]},
        },
        {
            "id": "read-orders",
            "routes": ["GET /orders", "GET /orders/{orderId}"],
            "when": {"scopes": ["orders/read"]},
        },
        {
            "id": "own-profile",
            "routes": ["GET /users/{userId}", "PUT /users/{userId}"],
            "when": {"claims": {"sub": "{userId}"}},
        },
        {
            "id": "tenant-guard",
            "effect": "deny",
            "routes": ["ANY /tenants/{tenantId}/{proxy+}"],
            "unless": {"claims": {"custom:tenant_id": "{tenantId}"}},
        },
    ],
}

CURRENT = MethodArn.parse(PREFIX + "GET/orders/42")

PERSONAS = {
    "admin": {"sub": "u-admin", "cognito:groups": ["admin"]},
    "support": {"sub": "u-support", "cognito:groups": ["support"], "scope": "orders/read"},
    "customer": {
        "sub": "u-cust",
        "cognito:groups": ["customer"],
        "custom:tenant_id": "acme",
        "scope": "openid",
    },
    "contractor": {"sub": "u-contractor", "cognito:groups": ["contractor"]},
}

SEGMENTS = ("orders", "users", "tenants", "acme", "other", "u-admin", "u-support", "u-cust", "u-contractor")


def request_grid() -> list[tuple[str, str]]:
    paths = ["/"]
    for a in SEGMENTS:
        paths.append(f"/{a}")
        for b in SEGMENTS:
            paths.append(f"/{a}/{b}")
            paths.extend(f"/{a}/{b}/{c}" for c in ("x", "orders", "acme"))
    return [(verb, path) for verb in HTTP_VERBS for path in paths]


GRID = request_grid()


@pytest.fixture(scope="module")
def design_policy() -> Policy:
    return Policy.from_dict(DESIGN_POLICY)


def assert_exact(policy: Policy, principal: Principal, document: dict[str, Any]) -> None:
    for verb, path in GRID:
        decided = policy.decide(principal, verb, path).allowed
        assert iam_allows(document, CURRENT.with_resource(verb, path)) == decided, (verb, path)


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_design_policy_persona_gets_an_exact_principal_wide_document(
    design_policy: Policy, persona: str
) -> None:
    principal = Principal.from_claims(PERSONAS[persona])
    result = build_principal_policy(design_policy, principal, CURRENT)
    print(f"\n{persona}: scope={result.scope} size={result.size} bytes")
    assert result.scope == "principal", result.detail
    assert result.reason == ""
    assert result.size == document_size(result.document) <= DEFAULT_MAX_BYTES
    assert_exact(design_policy, principal, result.document)


def test_percent_escaped_paths_are_denied_under_carve_out_documents(design_policy: Policy) -> None:
    principal = Principal.from_claims(PERSONAS["admin"])
    document = build_principal_policy(design_policy, principal, CURRENT).document
    # decide decodes %74 to 't' and denies; IAM compares raw text, so the Deny on '*%*' must catch it.
    assert not design_policy.decide(principal, "GET", "/%74enants/x/y").allowed
    assert not iam_allows(document, CURRENT.with_resource("GET", "/%74enants/x/y"))


def test_size_guard_falls_back_with_a_warning(
    design_policy: Policy, caplog: pytest.LogCaptureFixture
) -> None:
    principal = Principal.from_claims(PERSONAS["admin"])
    with caplog.at_level(logging.WARNING, logger="cognito_authz.iam"):
        result = build_principal_policy(design_policy, principal, CURRENT, max_bytes=400)
    assert result.scope == "request"
    assert result.reason == "too_large"
    assert "400" in result.detail
    assert result.size == document_size(result.document) < 400
    assert any("request-scoped" in record.getMessage() for record in caplog.records)


def test_principal_with_no_permission_gets_a_deny_all_document(design_policy: Policy) -> None:
    principal = Principal.from_claims({"sub": "x/y"})  # a sub no single segment can equal
    result = build_principal_policy(design_policy, principal, CURRENT)
    assert result.scope == "principal"
    assert result.document["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [PREFIX + "*"]}
    ]


def test_memoized_documents_are_not_shared(design_policy: Policy) -> None:
    principal = Principal.from_claims(PERSONAS["support"])
    first = build_principal_policy(design_policy, principal, CURRENT)
    pristine = copy.deepcopy(first.document)
    first.document["Statement"][0]["Resource"].append("tampered")
    second = build_principal_policy(design_policy, principal, CURRENT)
    assert second.document == pristine


def test_document_names_only_the_current_api_and_stage(design_policy: Policy) -> None:
    principal = Principal.from_claims(PERSONAS["support"])
    other_stage = MethodArn.parse(PREFIX.replace("/prod/", "/dev/") + "GET/orders/42")
    document = build_principal_policy(design_policy, principal, other_stage).document
    resources = [r for s in document["Statement"] for r in s["Resource"]]
    assert all(r.startswith(other_stage.prefix) for r in resources)
    assert not iam_allows(document, CURRENT.arn)


def test_websocket_connect_document() -> None:
    policy = Policy.from_dict(
        {"version": 1, "rules": [{"id": "chat", "routes": ["$connect"], "when": {"groups": ["chat"]}}]}
    )
    arn = MethodArn.parse("arn:aws:execute-api:us-east-1:123456789012:c5jwxq709g/production/$connect")
    allowed = build_principal_policy(
        policy, Principal.from_claims({"sub": "a", "cognito:groups": ["chat"]}), arn
    )
    assert allowed.scope == "principal"
    assert allowed.document["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [arn.arn]}
    ]
    denied = build_principal_policy(policy, Principal.from_claims({"sub": "b"}), arn)
    assert denied.document["Statement"][0]["Effect"] == "Deny"
    assert not iam_allows(denied.document, arn.arn)


def test_single_param_route_below_a_mid_path_wildcard_is_carved_exactly() -> None:
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [
                {"id": "items", "routes": ["GET /orders/{id}/items"]},
                {
                    "id": "everything-else",
                    "effect": "deny",
                    "routes": ["GET /orders/{id}/{rest+}"],
                    "when": {"groups": ["nobody"]},
                },
            ],
        }
    )
    principal = Principal.from_claims({"sub": "s"})
    result = build_principal_policy(policy, principal, CURRENT)
    assert result.scope == "principal"
    for path in (
        "/orders/1/items",
        "/orders/1/2/items",
        "/orders/1/items/items",
        "/orders/items",
        "/orders/1/x",
    ):
        assert (
            iam_allows(result.document, CURRENT.with_resource("GET", path))
            == policy.decide(principal, "GET", path).allowed
        ), path


# --- cache safety of the whole policy -----------------------------------------------------------------


def test_design_policy_is_not_cache_safe_because_of_the_tenant_guard(design_policy: Policy) -> None:
    safety = cache_safety(design_policy)
    assert not safety.safe
    assert safety.blocking_rules  # the rules whose requests the documents leave out
    assert "identity sources" in safety.advice
    assert "caching off" in safety.advice


def test_policy_without_negation_is_cache_safe() -> None:
    without_guard = {**DESIGN_POLICY, "rules": DESIGN_POLICY["rules"][:3]}
    safety = cache_safety(Policy.from_dict(without_guard))
    assert safety.safe, safety.findings
    assert safety.blocking_rules == ()


def test_tenant_guard_alone_is_cache_safe_when_no_rule_allows_other_tenants() -> None:
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [
                {
                    "id": "own-tenant",
                    "routes": ["ANY /tenants/{tenantId}/{proxy+}"],
                    "when": {"claims": {"custom:tenant_id": "{tenantId}"}},
                },
                DESIGN_POLICY["rules"][3],
            ],
        }
    )
    assert cache_safety(policy).safe


def test_allow_unless_own_value_is_expressible_as_allow_star_deny_own() -> None:
    # "Approve anyone's expenses but your own": Allow '*' then Deny the caller's value (deny wins).
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [
                {
                    "id": "review-others",
                    "routes": ["POST /expenses/{ownerId}/approve"],
                    "unless": {"claims": {"sub": "{ownerId}"}},
                },
            ],
        }
    )
    assert cache_safety(policy).safe
    principal = Principal.from_claims({"sub": "me"})
    result = build_principal_policy(policy, principal, CURRENT)
    assert result.scope == "principal"
    allow, deny = result.document["Statement"]
    assert PREFIX + "POST/expenses/*/approve" in allow["Resource"]
    assert any("/expenses/me/" in r for r in deny["Resource"])
    for path in ("/expenses/me/approve", "/expenses/you/approve", "/expenses/a/b/approve"):
        expected = policy.decide(principal, "POST", path).allowed
        assert iam_allows(result.document, CURRENT.with_resource("POST", path)) == expected


def test_cache_safety_shape_check_alone_names_the_same_rule(design_policy: Policy) -> None:
    quick = cache_safety(design_policy, probes=False)
    assert not quick.safe
    assert quick.blocking_rules == ("tenant-guard",)
    assert len(quick.findings) == 1
