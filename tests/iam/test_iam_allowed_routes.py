"""``Policy.allowed_routes`` reads a rule's group and scope tests once per rule, not once per route.

The IAM builder asks it on every first proof, and on a 300-route policy the per-route reading cost
about 320 us. The rewrite must give exactly the old results: ``reference_allowed_routes`` below is the
old loop, kept verbatim over the policy's compiled statements, and random policies (groups, scopes,
``all_groups``, token use, claim templates in ``when`` and ``unless``, several routes per rule, list
claims long enough to pass ``MAX_ALTERNATIVES``) must get equal grants, in equal order, and the same
``exact``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.policy import AllowedRoutes, Policy
from cognito_authz.policy.conditions import view
from cognito_authz.policy.engine import _exceptions, _grant, _with_ids
from cognito_authz.policy.routes import subsumes
from cognito_authz.principal import Principal


def reference_allowed_routes(policy: Policy, principal: Principal) -> AllowedRoutes:
    """The old ``Policy.allowed_routes``: every statement (rule x route) reads its conditions alone."""
    subject = view(principal)
    exact = True
    grants: dict[tuple[Any, ...], tuple[bool, int, Any, list[str]]] = {}
    for statement in policy._statements:
        route = statement.route
        options = statement.when.alternatives(subject, route) if statement.when is not None else [{}]
        if options is None:
            exact = False
            options = [{}] if statement.deny else []
        unless = statement.unless.alternatives(subject, route) if statement.unless is not None else []
        if unless is None:
            exact = False
            if not statement.deny:
                continue
            unless = []
        for binding in options:
            exceptions = _exceptions(binding, unless)
            if exceptions is None:
                continue
            grant = _grant(route, binding, exceptions)
            key = (statement.deny, grant.method, grant.path, tuple(grant.bound_params.items()),
                   tuple(tuple(sorted(e.items())) for e in grant.except_params))  # fmt: skip
            if key not in grants:
                order = policy._entries[route.text].order
                grants[key] = (statement.deny, order, grant, [])
            ids = grants[key][3]
            if statement.rule_id not in ids:
                ids.append(statement.rule_id)
    ordered = sorted(grants.values(), key=lambda item: item[1])
    denied = tuple(_with_ids(grant, ids) for deny, _, grant, ids in ordered if deny)
    allowed = tuple(
        _with_ids(grant, ids)
        for deny, _, grant, ids in ordered
        if not deny
        and not any(
            not other.except_params and subsumes((other.method, other.pattern), (grant.method, grant.pattern))
            for other in denied
        )
    )
    return AllowedRoutes(allowed, denied, exact)


def _plain(routes: AllowedRoutes) -> tuple[Any, ...]:
    def grant(g: Any) -> tuple[Any, ...]:
        return (
            g.method,
            g.path,
            g.rule_ids,
            g.route,
            dict(g.bound_params),
            [dict(e) for e in g.except_params],
            g.pattern,
        )

    return [grant(g) for g in routes.allowed], [grant(g) for g in routes.denied], routes.exact


ROUTES = (
    "GET /a",
    "ANY /a/{x}",
    "POST /t/{t}/items",
    "ANY /t/{t}/{rest+}",
    "GET /u/{u}",
    "DELETE /t/{t}/admin",
    "ANY /{proxy+}",
)
GROUPS = ("g1", "g2", "g3")
SCOPES = ("s1", "s2")


@st.composite
def condition(draw: st.DrawFn, params: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, names in (("groups", GROUPS), ("all_groups", GROUPS), ("scopes", SCOPES)):
        if draw(st.integers(0, 2)) == 0:
            out[key] = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    if draw(st.integers(0, 4)) == 0:
        out["token_use"] = draw(st.sampled_from(("id", "access")))
    if params and draw(st.booleans()):
        claims = {}
        for claim in draw(st.lists(st.sampled_from(("tenant", "list", "sub")), max_size=2, unique=True)):
            claims[claim] = "{" + draw(st.sampled_from(params)) + "}"
        if claims:
            out["claims"] = claims
    return out


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    rules = []
    for index in range(draw(st.integers(1, 8))):
        routes = draw(st.lists(st.sampled_from(ROUTES), min_size=1, max_size=4, unique=True))
        params = sorted(
            {p.strip("{}+") for r in routes for p in r.split("/") if p.startswith("{")}
            & set.intersection(*({p.strip("{}+") for p in r.split("/") if p.startswith("{")} for r in routes))
        )
        rule: dict[str, Any] = {"id": f"r{index}", "routes": routes}
        rule["effect"] = draw(st.sampled_from(("allow", "allow", "deny")))
        when = draw(condition(params))
        if when:
            rule["when"] = when
        if draw(st.integers(0, 2)) == 0:
            unless = draw(condition(params))
            if unless:
                rule["unless"] = unless
        rules.append(rule)
    return {"version": 1, "rules": rules}


@st.composite
def principals(draw: st.DrawFn) -> Principal:
    size = draw(st.sampled_from((0, 1, 3, 70)))  # 70 values pass MAX_ALTERNATIVES in a product
    claims: dict[str, Any] = {
        "sub": draw(st.sampled_from(("u1", "acme", "*"))),
        "tenant": draw(st.sampled_from(("acme", "globex", "a/b", tuple(f"w{i}" for i in range(40))))),
        "list": [f"v{i}" for i in range(size)] + draw(st.lists(st.sampled_from(("acme", "x")), max_size=2)),
    }
    return Principal(
        sub=claims["sub"],
        groups=tuple(draw(st.lists(st.sampled_from(GROUPS), max_size=3, unique=True))),
        scopes=tuple(draw(st.lists(st.sampled_from(SCOPES), max_size=2, unique=True))),
        token_use=draw(st.sampled_from(("id", "access"))),
        client_id="c",
        claims=claims,
    )


@settings(max_examples=1500, deadline=None)
@given(policies(), st.lists(principals(), min_size=1, max_size=4))
def test_allowed_routes_equals_the_per_route_reading(
    document: dict[str, Any], callers: list[Principal]
) -> None:
    policy = Policy.from_dict(document)
    for caller in callers:
        assert _plain(policy.allowed_routes(caller)) == _plain(reference_allowed_routes(policy, caller))


def test_an_inexact_unless_on_a_rule_whose_when_fails_still_makes_the_grants_inexact() -> None:
    # The one case the per-rule shortcut must still read per route: `when` fails on groups, and the
    # `unless` claim tests need more than MAX_ALTERNATIVES bindings.
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [
                {
                    "id": "r",
                    "routes": ["ANY /t/{t}/{rest+}"],
                    "effect": "deny",
                    "when": {"groups": ["g1"]},
                    "unless": {"claims": {"list": "{t}", "tenant": "{rest}"}},
                }
            ],
        }
    )
    caller = Principal(
        sub="u",
        groups=(),
        scopes=(),
        token_use="id",
        client_id="c",
        claims={"list": [f"v{i}" for i in range(70)], "tenant": [f"w{i}" for i in range(70)]},
    )
    old = reference_allowed_routes(policy, caller)
    assert _plain(policy.allowed_routes(caller)) == _plain(old)
    assert not old.exact
