"""IAM soundness property: a principal-wide document never allows what ``Policy.decide`` denies.

Random route tables (literals, single and greedy parameters, ANY and verbs), random allow and deny rules
(group conditions, claim templates in ``when`` and ``unless``), random principals, and concrete requests
drawn so that most are routable. Every document is evaluated with a matcher written here (glob to regex
over the whole ARN string), independent of ``cognito_authz.iam.iam_allows``:

- soundness, whatever the scope: the document allows a request only if ``decide`` allows it;
- exactness, when ``scope == "principal"``: allow if and only if ``decide`` allows.

``IAM_SOUNDNESS_EXAMPLES`` raises the example count for a longer local run.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cognito_authz.iam import MethodArn, build_principal_policy
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

EXAMPLES = int(os.environ.get("IAM_SOUNDNESS_EXAMPLES", "200"))
REQUESTS_PER_EXAMPLE = 24

# Small alphabets make collisions likely: a literal equal to a claim value, a value equal to the
# placeholder the generator may pick for "any other value" ("x0"), verbs that are also segments.
LITERALS = ("a", "b", "orders", "x0", "GET")
CLAIM_VALUES = ("u1", "a", "acme", "x0")
OTHER_VALUES = ("zz", "q")
VERBS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
ROUTE_METHODS = ("ANY", "GET", "POST", "PUT")
GROUPS = ("g1", "g2")
CLAIMS = ("sub", "custom:t")

ARN = MethodArn.parse("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/a")


# --- the independent matcher --------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


def naive_allows(document: dict[str, Any], arn: str) -> bool:
    allowed = False
    for statement in document["Statement"]:
        assert statement["Action"] == "execute-api:Invoke"
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        if any(_glob_regex(r).fullmatch(arn) for r in resources):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


# --- strategies ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteSpec:
    method: str
    segments: tuple[str, ...]  # literal text, "{pN}" or "{rest+}"

    @property
    def text(self) -> str:
        return f"{self.method} /" + "/".join(self.segments)

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(s.strip("{}+") for s in self.segments if s.startswith("{"))


@st.composite
def route_specs(draw: st.DrawFn) -> RouteSpec:
    method = draw(st.sampled_from(ROUTE_METHODS))
    count = draw(st.integers(0, 3))
    segments = []
    for index in range(count):
        if draw(st.booleans()):
            segments.append(draw(st.sampled_from(LITERALS)))
        else:
            segments.append(f"{{p{index}}}")
    if draw(st.integers(0, 3)) == 0:
        segments.append("{rest+}")
    return RouteSpec(method, tuple(segments))


@st.composite
def conditions(draw: st.DrawFn, params: tuple[str, ...]) -> dict[str, Any] | None:
    condition: dict[str, Any] = {}
    if draw(st.booleans()):
        condition["groups"] = [draw(st.sampled_from(GROUPS))]
    if params and draw(st.booleans()):
        claim = draw(st.sampled_from(CLAIMS))
        condition["claims"] = {claim: "{" + draw(st.sampled_from(params)) + "}"}
    elif draw(st.integers(0, 4)) == 0:
        condition["claims"] = {draw(st.sampled_from(CLAIMS)): draw(st.sampled_from(CLAIM_VALUES))}
    return condition or None


@st.composite
def policies(draw: st.DrawFn) -> tuple[dict[str, Any], list[RouteSpec]]:
    routes = draw(st.lists(route_specs(), min_size=1, max_size=5, unique_by=lambda r: r.text))
    rules = []
    for index in range(draw(st.integers(1, 5))):
        chosen = draw(st.lists(st.sampled_from(routes), min_size=1, max_size=2, unique_by=lambda r: r.text))
        # A claim template must name a parameter every route of the rule has.
        common = tuple(sorted(set.intersection(*(set(r.params) for r in chosen))))
        rule: dict[str, Any] = {
            "id": f"r{index}",
            "effect": draw(st.sampled_from(("allow", "allow", "deny"))),
            "routes": [r.text for r in chosen],
        }
        when = draw(conditions(common))
        if when:
            rule["when"] = when
        if draw(st.integers(0, 3)) == 0:
            unless = draw(conditions(common))
            if unless:
                rule["unless"] = unless
        rules.append(rule)
    return {"version": 1, "rules": rules}, routes


@st.composite
def principals(draw: st.DrawFn) -> Principal:
    claims: dict[str, Any] = {"sub": draw(st.sampled_from(CLAIM_VALUES))}
    groups = draw(st.lists(st.sampled_from(GROUPS), unique=True))
    if groups:
        claims["cognito:groups"] = groups
    # A list claim, and a value with '/' that only a greedy parameter can equal.
    tenant = draw(st.sampled_from((None, *CLAIM_VALUES, ["acme", "u1"], "a/b")))
    if tenant is not None:
        claims["custom:t"] = tenant
    return Principal.from_claims(claims)


VALUES = st.sampled_from(LITERALS + CLAIM_VALUES + OTHER_VALUES)


@st.composite
def requests(draw: st.DrawFn, routes: list[RouteSpec]) -> tuple[str, str]:
    if draw(st.integers(0, 4)) == 0:
        # Anything, mostly not routable.
        segments = draw(st.lists(VALUES, max_size=4))
        return draw(st.sampled_from(VERBS)), "/" + "/".join(segments)
    route = draw(st.sampled_from(routes))
    verb = route.method if route.method != "ANY" else draw(st.sampled_from(VERBS))
    segments = []
    for segment in route.segments:
        if segment == "{rest+}":
            segments.extend(draw(st.lists(VALUES, min_size=1, max_size=3)))
        elif segment.startswith("{"):
            segments.append(draw(VALUES))
        else:
            segments.append(segment)
    return verb, "/" + "/".join(segments)


# --- the property -------------------------------------------------------------------------------------


def _routable(policy: Policy, verb: str, path: str) -> bool:
    return any(route.match(verb, path) is not None for route in policy.routes)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_principal_policy_is_sound_and_exact(data: st.DataObject) -> None:
    raw, routes = data.draw(policies())
    policy = Policy.from_dict(raw)
    principal = data.draw(principals())
    verb, path = data.draw(requests(routes))
    current = MethodArn.parse(ARN.with_resource(verb, path))
    result = build_principal_policy(policy, principal, current, max_bytes=1 << 20)
    assert result.scope in ("principal", "request")
    event(f"scope={result.scope} {result.reason}")
    cases = [(verb, path), *(data.draw(requests(routes)) for _ in range(REQUESTS_PER_EXAMPLE))]
    for case_verb, case_path in cases:
        arn = ARN.with_resource(case_verb, case_path)
        iam = naive_allows(result.document, arn)
        decided = policy.decide(principal, case_verb, case_path).allowed
        event(f"routable={_routable(policy, case_verb, case_path)} allowed={decided}")
        if iam:
            assert decided, f"unsound: IAM allows {case_verb} {case_path}\n{raw}\n{result}"
        if result.exact:
            assert iam == decided, (
                f"inexact: IAM {iam}, decide {decided} for {case_verb} {case_path} "
                f"(routable={_routable(policy, case_verb, case_path)})\n{raw}\n{principal}\n{result}"
            )
    # The current request is always answered as decide answers it, whatever the scope.
    assert naive_allows(result.document, current.arn) == policy.decide(principal, verb, path).allowed
    # Asked again for another request (the memo answers now), the verdict and the document hold.
    other_verb, other_path = data.draw(requests(routes))
    other = MethodArn.parse(ARN.with_resource(other_verb, other_path))
    again = build_principal_policy(policy, principal, other, max_bytes=1 << 20)
    # The proof is shared; only the answer for the current request may differ (its own ARN, or an
    # answer for it alone when a carve-out Deny covers it or the table does not route it).
    if again.scope == result.scope == "principal":
        assert again.reason == result.reason
    if again.exact:
        assert again.document == result.document
    assert naive_allows(again.document, other.arn) == policy.decide(principal, other_verb, other_path).allowed
