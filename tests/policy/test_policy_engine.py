"""Decision semantics (deny overrides, default deny, order independence), the Decision's fields and
explanation, robustness against nonsense input, purity of the package, and allowed_routes."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.policy import AllowedRoutes, Decision, Policy, RouteGrant
from cognito_authz.principal import Principal

PolicyOf = Callable[..., Policy]
PrincipalOf = Callable[..., Principal]


# --- semantics ---------------------------------------------------------------------------------------


def test_default_deny_without_any_rule(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    decision = policy_of().decide(principal(), "GET", "/orders")
    assert decision == Decision(False, "no_matching_rule", (), {}, None, "GET", "/orders")


def test_deny_overrides_allow_and_names_every_matching_deny(
    policy_of: PolicyOf, principal: PrincipalOf
) -> None:
    policy = policy_of(
        {"id": "allow-all", "routes": ["ANY /{p+}"]},
        {"id": "deny-b", "effect": "deny", "routes": ["GET /a/{x}"], "when": {"groups": ["b"]}},
        {"id": "deny-a", "effect": "deny", "routes": ["ANY /a/{y}"]},
        {"id": "deny-never", "effect": "deny", "routes": ["GET /a/{x}"], "when": {"groups": ["nobody"]}},
    )
    decision = policy.decide(principal(groups=["b"]), "GET", "/a/1")
    assert not decision.allowed
    assert decision.reason == "explicit_deny"
    assert decision.rules == ("deny-b", "deny-a")  # in file order, not match order
    assert decision.considered == ("deny-never",)


def test_allow_names_every_matching_allow(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    policy = policy_of(
        {"id": "one", "routes": ["GET /a/{x}"], "when": {"groups": ["g"]}},
        {"id": "two", "routes": ["ANY /{p+}"], "when": {"scopes": ["s"]}},
        {"id": "three", "routes": ["GET /a/{x}"], "when": {"groups": ["other"]}},
    )
    decision = policy.decide(principal(groups=["g"], scopes=["s"]), "GET", "/a/1")
    assert decision.allowed
    assert decision.reason == "allowed"
    assert decision.rules == ("one", "two")
    assert decision.considered == ("three",)


def test_rule_order_never_matters(principal: PrincipalOf) -> None:
    rules: list[dict[str, Any]] = [
        {"id": "admin", "routes": ["ANY /{p+}"], "when": {"groups": ["admin"]}},
        {"id": "read", "routes": ["GET /t/{t}/x"], "when": {"scopes": ["r"]}},
        {
            "id": "guard",
            "effect": "deny",
            "routes": ["ANY /t/{t}/{p+}"],
            "unless": {"claims": {"tenant": "{t}"}},
        },
        {"id": "block", "effect": "deny", "routes": ["DELETE /{p+}"], "when": {"groups": ["intern"]}},
    ]
    who = [
        principal(groups=["admin"], claims={"tenant": "a"}),
        principal(groups=["admin", "intern"], scopes=["r"], claims={"tenant": "b"}),
        principal(scopes=["r"], claims={"tenant": "a"}),
    ]
    requests = [
        ("GET", "/t/a/x"),
        ("DELETE", "/t/a/x"),
        ("GET", "/t/b/x"),
        ("POST", "/other"),
        ("GET", "/t/a"),
    ]
    baseline = None
    for order in itertools.permutations(rules):
        policy = Policy.from_dict({"version": 1, "rules": list(order)})
        outcome = [
            (d.allowed, d.reason, set(d.rules), d.route)
            for d in (policy.decide(p, m, path) for p in who for m, path in requests)
        ]
        baseline = baseline or outcome
        assert outcome == baseline


def test_decision_fields_use_the_most_specific_route(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    policy = policy_of(
        {"id": "admin", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
        {"id": "read", "routes": ["GET /orders/{orderId}"], "when": {"scopes": ["r"]}},
        {"id": "latest", "routes": ["ANY /orders/latest"]},
    )
    decision = policy.decide(principal(groups=["admin"]), "GET", "/orders/42")
    assert decision.allowed
    assert decision.rules == ("admin",)
    assert decision.route == "GET /orders/{orderId}"
    assert dict(decision.path_params) == {"orderId": "42"}
    assert decision.method == "GET"
    assert decision.path == "/orders/42"
    assert policy.decide(principal(), "GET", "/orders/latest").route == "ANY /orders/latest"
    other = policy.decide(principal(groups=["admin"]), "PUT", "/orders/42")
    assert other.route == "ANY /{proxy+}"
    assert dict(other.path_params) == {"proxy": "orders/42"}


def test_decision_is_frozen_and_params_read_only(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    decision = policy_of({"id": "a", "routes": ["GET /a/{x}"]}).decide(principal(), "GET", "/a/1")
    with pytest.raises(AttributeError):
        decision.allowed = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        decision.path_params["x"] = "2"  # type: ignore[index]


def test_claim_bound_params_come_from_each_rules_own_route(
    policy_of: PolicyOf, principal: PrincipalOf
) -> None:
    # /docs/{owner}/{p+} binds "owner"; /docs/{a}/{b} names the same segment differently
    policy = policy_of(
        {"id": "own", "routes": ["GET /docs/{owner}/{p+}"], "when": {"claims": {"sub": "{owner}"}}},
        {"id": "pair", "routes": ["GET /docs/{a}/{b}"], "when": {"claims": {"sub": "{b}"}}},
    )
    assert policy.decide(principal("u1"), "GET", "/docs/u1/x").rules == ("own",)
    assert policy.decide(principal("x"), "GET", "/docs/u1/x").rules == ("pair",)
    assert policy.decide(principal("x"), "GET", "/docs/u1/x").route == "GET /docs/{a}/{b}"


def test_websocket_connect(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    policy = policy_of(
        {"id": "ws", "routes": ["$connect"], "when": {"groups": ["member"]}},
        {"id": "http", "routes": ["ANY /{p+}"]},
    )
    assert policy.decide(principal(groups=["member"]), "GET", "$connect").allowed
    assert policy.decide(principal(groups=["member"]), "", "$connect").route == "$connect"
    assert not policy.decide(principal(), "GET", "$connect").allowed
    assert not policy.decide(principal(groups=["member"]), "GET", "$disconnect").allowed


def test_lower_case_method_cannot_dodge_a_deny(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    policy = policy_of(
        {"id": "all", "routes": ["ANY /{p+}"]},
        {"id": "no-delete", "effect": "deny", "routes": ["DELETE /{p+}"]},
    )
    assert policy.decide(principal(), "delete", "/x").reason == "explicit_deny"


def test_encoded_literal_cannot_dodge_a_deny(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    policy = policy_of(
        {"id": "all", "routes": ["ANY /{p+}"]},
        {"id": "no-admin", "effect": "deny", "routes": ["ANY /admin/{p+}"]},
    )
    assert policy.decide(principal(), "GET", "/%61dmin/users").reason == "explicit_deny"
    # one trailing slash routes like none, so the deny holds on /admin/x/ too
    assert policy.decide(principal(), "GET", "/admin/x/").reason == "explicit_deny"
    assert policy.decide(principal(), "GET", "/x/../admin/users").reason == "no_matching_rule"


NONSENSE: list[tuple[Any, Any]] = [
    (None, None),
    (42, b"/x"),
    ("GET", ""),
    ("GET", "orders"),
    ("", "/x"),
    ("G E T", "/x"),
    ("GET", "/x?y=1"),
    ("GET", "/%"),
    ("GET", "/" + "a/" * 5000 + "a"),
    ("GET", "/a\x00b"),
    ("GET", "/\ud800"),
    ("GET" * 100, "/x"),
]


@pytest.mark.parametrize(("method", "path"), NONSENSE)
def test_decide_never_raises(design_policy: Policy, principal: PrincipalOf, method: Any, path: Any) -> None:
    decision = design_policy.decide(principal(groups=["admin"]), method, path)
    assert isinstance(decision, Decision)
    if path in ("/x?y=1",):  # a '?' is an ordinary character of a segment here: admin's {proxy+} matches
        assert decision.allowed
    else:
        assert not decision.allowed
    assert isinstance(decision.explain(), str)


def test_decide_without_a_principal(design_policy: Policy) -> None:
    for who in (None, "admin", {"cognito:groups": ["admin"]}):
        decision = design_policy.decide(who, "GET", "/orders")  # type: ignore[arg-type]
        assert not decision.allowed
        assert decision.reason == "no_matching_rule"


def test_decide_with_a_hand_built_principal_holding_odd_types(design_policy: Policy) -> None:
    odd = Principal(sub="x", groups="admin", scopes=None, claims={"custom:tenant_id": ["acme"]})  # type: ignore[arg-type]
    assert design_policy.decide(odd, "GET", "/tenants/acme/x").allowed
    odd = Principal(sub="x", groups=("a", 1), claims=None)  # type: ignore[arg-type]
    assert not design_policy.decide(odd, "GET", "/orders").allowed


@settings(max_examples=200, deadline=None)
@given(
    method=st.text(max_size=12), path=st.text(max_size=60), groups=st.lists(st.text(max_size=8), max_size=3)
)
def test_decide_never_raises_on_any_text(
    design_policy: Policy, method: str, path: str, groups: list[str]
) -> None:
    decision = design_policy.decide(
        Principal.from_claims({"sub": "u", "cognito:groups": groups}), method, path
    )
    assert decision.reason in ("allowed", "explicit_deny", "no_matching_rule")
    decision.explain()


# --- explain -----------------------------------------------------------------------------------------


def test_explain_paragraphs(design_policy: Policy, principal: PrincipalOf) -> None:
    admin = principal(groups=["admin"], claims={"custom:tenant_id": "acme"})
    allowed = design_policy.decide(admin, "GET", "/tenants/acme/x").explain()
    assert "is allowed" in allowed
    assert "admin-everything" in allowed
    assert "tenant-guard" in allowed
    denied = design_policy.decide(admin, "GET", "/tenants/globex/x").explain()
    assert "denied by deny rule(s) tenant-guard" in denied
    assert "tenantId='globex'" in denied
    default = design_policy.decide(principal(), "GET", "/users/other").explain()
    assert "denied by default" in default
    assert "own-profile" in default
    invalid = design_policy.decide(principal(), "GET", "/orders//").explain()
    assert "not one API Gateway routes" in invalid
    unknown = Policy.from_dict({"version": 1, "rules": [{"id": "a", "routes": ["GET /a"]}]})
    assert "no rule of the policy has a route" in unknown.decide(principal(), "GET", "/b").explain()
    assert "\n" not in allowed + denied + default + invalid


def test_policy_explain_traces_every_rule(design_policy: Policy, principal: PrincipalOf) -> None:
    text = design_policy.explain(principal(claims={"custom:tenant_id": "acme"}), "GET", "/tenants/globex/x")
    assert "route ANY /tenants/{tenantId}/{proxy+} (tenantId='globex', proxy='x')" in text
    assert "deny rule tenant-guard: applies (no when; unless does not hold (claims.custom:tenant_id))" in text
    assert "allow rule admin-everything: does not apply (when fails (groups))" in text
    assert "no principal" in design_policy.explain(None, "GET", "/x")  # type: ignore[arg-type]


# --- purity ------------------------------------------------------------------------------------------


def test_policy_package_imports_no_verifier_jwks_jwt_or_requests() -> None:
    # The top-level package may import the verifier eagerly, so load cognito_authz.policy under a bare
    # parent package: this checks what the policy engine itself pulls in.
    code = textwrap.dedent(
        f"""
        import sys, types
        package = types.ModuleType("cognito_authz")
        package.__path__ = [{str(_package_dir())!r}]
        sys.modules["cognito_authz"] = package
        import cognito_authz.policy as policy
        from cognito_authz.principal import Principal
        p = policy.Policy.from_dict({{"version": 1, "rules": [{{"id": "a", "routes": ["GET /a/{{x}}"]}}]}})
        d = p.decide(Principal.from_claims({{"sub": "u"}}), "GET", "/a/1")
        assert d.allowed
        p.allowed_routes(Principal.from_claims({{"sub": "u"}}))
        p.lint()
        bad = sorted(
            name for name in sys.modules
            if name.split(".")[0] in ("jwt", "requests", "urllib3", "cryptography")
            or name in ("cognito_authz.verifier", "cognito_authz.jwks", "cognito_authz.token")
        )
        print(",".join(bad))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def _package_dir() -> str:
    import cognito_authz

    return str(cognito_authz.__path__[0])


def test_policy_sources_do_not_import_forbidden_modules() -> None:
    import ast
    from pathlib import Path

    forbidden = {"jwt", "requests", "cognito_authz.verifier", "cognito_authz.jwks", "cognito_authz.token"}
    for file in Path(_package_dir(), "policy").glob("*.py"):
        tree = ast.parse(file.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not any(name == f or name.startswith(f + ".") for f in forbidden), (file, name)


# --- allowed_routes ----------------------------------------------------------------------------------


def _grants(routes: AllowedRoutes) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    def row(grant: RouteGrant) -> tuple[Any, ...]:
        return (grant.method, grant.path, grant.rule_ids, tuple(dict(e) for e in grant.except_params))

    return [row(g) for g in routes.allowed], [row(g) for g in routes.denied]


def test_allowed_routes_for_the_design_example(design_policy: Policy, principal: PrincipalOf) -> None:
    customer = principal("u-1", scopes=["orders/read"], claims={"custom:tenant_id": "acme"})
    result = design_policy.allowed_routes(customer)
    assert result.exact
    allowed, denied = _grants(result)
    assert allowed == [
        ("GET", "/orders", ("read-orders",), ()),
        ("GET", "/orders/{orderId}", ("read-orders",), ()),
        ("GET", "/users/u-1", ("own-profile",), ()),
        ("PUT", "/users/u-1", ("own-profile",), ()),
    ]
    assert denied == [("ANY", "/tenants/{tenantId}/{proxy+}", ("tenant-guard",), ({"tenantId": "acme"},))]
    grant = result.allowed[2]
    assert grant.route == "GET /users/{userId}"
    assert dict(grant.bound_params) == {"userId": "u-1"}


def test_allowed_routes_without_tenant_claim_denies_the_whole_subtree(
    design_policy: Policy, principal: PrincipalOf
) -> None:
    result = design_policy.allowed_routes(principal("u-1", groups=["admin"]))
    allowed, denied = _grants(result)
    assert ("ANY", "/{proxy+}", ("admin-everything",), ()) in allowed
    assert denied == [("ANY", "/tenants/{tenantId}/{proxy+}", ("tenant-guard",), ())]
    assert not result.permits("GET", "/tenants/acme/x")
    assert result.permits("DELETE", "/orders/1")


def test_allowed_routes_one_grant_per_list_claim_value(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    policy = policy_of(
        {
            "id": "tenants",
            "routes": ["GET /t/{tenantId}/data"],
            "when": {"claims": {"custom:tenants": "{tenantId}"}},
        }
    )
    result = policy.allowed_routes(principal(claims={"custom:tenants": ["acme", "globex", "", "a/b"]}))
    assert [g.path for g in result.allowed] == ["/t/acme/data", "/t/globex/data"]  # "" and "a/b" can't match


def test_allowed_routes_merges_rules_and_drops_allows_covered_by_deny(
    policy_of: PolicyOf, principal: PrincipalOf
) -> None:
    policy = policy_of(
        {"id": "a", "routes": ["GET /x", "GET /admin/{p+}"]},
        {"id": "b", "routes": ["GET /x"]},
        {"id": "no-admin", "effect": "deny", "routes": ["ANY /admin/{p+}"]},
        {"id": "ws", "routes": ["$connect"]},
    )
    allowed, denied = _grants(policy.allowed_routes(principal()))
    assert allowed == [("GET", "/x", ("a", "b"), ()), (None, "$connect", ("ws",), ())]
    assert denied == [("ANY", "/admin/{p+}", ("no-admin",), ())]


def test_allowed_routes_greedy_binding(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    policy = policy_of(
        {"id": "home", "routes": ["GET /files/{path+}"], "when": {"claims": {"custom:home": "{path}"}}}
    )
    result = policy.allowed_routes(principal(claims={"custom:home": "users/u-1"}))
    assert [g.path for g in result.allowed] == ["/files/users/u-1"]
    assert result.permits("GET", "/files/users/u-1")
    assert not result.permits("GET", "/files/users/u-1/x")


def test_allowed_routes_unless_that_always_holds_removes_the_grant(
    policy_of: PolicyOf, principal: PrincipalOf
) -> None:
    policy = policy_of(
        {"id": "r", "routes": ["GET /r/{id}"], "when": {"groups": ["g"]}, "unless": {"groups": ["x"]}}
    )
    assert policy.allowed_routes(principal(groups=["g", "x"])).allowed == ()
    assert len(policy.allowed_routes(principal(groups=["g"])).allowed) == 1
    assert policy.allowed_routes(None).allowed == ()  # type: ignore[arg-type]


def test_allowed_routes_falls_back_soundly_on_huge_claim_lists(
    policy_of: PolicyOf, principal: PrincipalOf
) -> None:
    policy = policy_of(
        {
            "id": "pairs",
            "routes": ["GET /t/{a}/{b}"],
            "when": {"claims": {"custom:as": "{a}", "custom:bs": "{b}"}},
        },
        {
            "id": "guard",
            "effect": "deny",
            "routes": ["GET /t/{a}/{b}"],
            "unless": {"claims": {"custom:as": "{a}", "custom:bs": "{b}"}},
        },
        {
            "id": "deny-pairs",
            "effect": "deny",
            "routes": ["GET /t/{a}/{b}"],
            "when": {"claims": {"custom:as": "{b}", "custom:bs": "{a}"}},
        },
    )
    many = [f"v{i}" for i in range(40)]  # 40 x 40 bindings > MAX_ALTERNATIVES
    who = principal(claims={"custom:as": many, "custom:bs": many})
    result = policy.allowed_routes(who)
    assert not result.exact
    assert result.allowed == ()  # under-approximated allow
    # over-approximated deny: both deny rules fall back to the whole route, merged into one grant
    assert [(g.path, g.rule_ids) for g in result.denied] == [("/t/{a}/{b}", ("guard", "deny-pairs"))]
    assert policy.decide(who, "GET", "/t/v1/v2").reason == "explicit_deny"
    for path in ("/t/v1/v2", "/t/x/y"):
        assert not result.permits("GET", path)


def test_route_grant_matches(policy_of: PolicyOf, principal: PrincipalOf) -> None:
    grant = RouteGrant("GET", "/a/{x}", ("r",), pattern=((0, "a"), (1, "x")), except_params=({"x": "b"},))
    assert grant.matches("GET", "/a/c")
    assert grant.matches("get", "/a/c")
    assert not grant.matches("GET", "/a/b")
    assert not grant.matches("POST", "/a/c")
    assert grant.matches("GET", "/a/c/")  # one trailing slash routes like none
    assert not grant.matches("GET", "/a/c//")
    assert not grant.matches("PROPFIND", "/a/c")
    assert RouteGrant(None, "$connect", ()).matches("", "$connect")
