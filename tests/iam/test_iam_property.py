"""Property: the RENDERED document the builder returns, read by a naive IAM evaluator written apart from
the library, never allows a routable request that a fresh ``decide`` denies; when the builder says it
is exact it also allows every routable request ``decide`` allows; the current request is always answered
as ``decide`` answers it (or refused when IAM cannot name it). Random policies x random route tables
(with and without greedy routes, or none) x principals with hostile claim values."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from naive_iam import naive_allows

from cognito_authz.iam import MethodArn, build_principal_policy, clear_memo
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:api1/prod/"
VERBS = ("GET", "POST", "DELETE", "HEAD")
LITERALS = ("t", "acme", "admin", "orders", "x")
HOSTILE = ("*", "?", "~0~", "~1~", "a%2Fb", "%", "a*b", "acme/admin", "l" * 300, "", ".")
CHECKS = {"requests": 0}
# At least this many request checks in the default run (asserted by test_enough_requests_checked).
MIN_CHECKS = 100_000

segment = st.sampled_from(("t", "acme", "admin", "orders", "{a}", "{b}"))


@st.composite
def route(draw: st.DrawFn) -> str:
    method = draw(st.sampled_from(("ANY", "GET", "POST")))
    parts = draw(st.lists(segment, min_size=0, max_size=3))
    names = iter(("p0", "p1", "p2", "p3"))
    path = [next(names) if p.startswith("{") else p for p in parts]
    path = ["{" + p + "}" if p.startswith("p") else p for p in path]
    if draw(st.booleans()):
        path.append("{rest+}")
    return f"{method} /" + "/".join(path)


@st.composite
def rule(draw: st.DrawFn, index: int) -> dict[str, Any]:
    routes = draw(st.lists(route(), min_size=1, max_size=2))
    params = {p.strip("{}+") for r in routes for p in r.split("/") if p.startswith("{")}
    out: dict[str, Any] = {
        "id": f"r{index}",
        "routes": routes,
        "effect": draw(st.sampled_from(("allow", "allow", "deny"))),
    }
    when: dict[str, Any] = {}
    if draw(st.booleans()):
        when["groups"] = [draw(st.sampled_from(("g1", "g2")))]
    common = [p for p in sorted(params) if all(p in r for r in routes)]
    if common and draw(st.booleans()):
        when["claims"] = {
            draw(st.sampled_from(("sub", "tenant", "list"))): "{" + draw(st.sampled_from(common)) + "}"
        }
    if when:
        out["when"] = when
    if common and draw(st.integers(0, 3)) == 0:
        out["unless"] = {"claims": {"tenant": "{" + draw(st.sampled_from(common)) + "}"}}
    return out


@st.composite
def policy_and_table(draw: st.DrawFn) -> tuple[dict[str, Any], list[str] | None]:
    count = draw(st.integers(1, 4))
    rules = [draw(rule(i)) for i in range(count)]
    table = draw(st.one_of(st.none(), st.lists(route(), min_size=1, max_size=5)))
    return {"version": 1, "rules": rules}, table


claim_value = st.one_of(
    st.sampled_from(LITERALS), st.sampled_from(HOSTILE), st.text("ab~*%?/", min_size=1, max_size=4)
)


@st.composite
def principal(draw: st.DrawFn) -> Principal:
    claims: dict[str, Any] = {"sub": draw(claim_value), "tenant": draw(claim_value)}
    if draw(st.booleans()):
        size = draw(st.sampled_from((3, 200)))
        claims["list"] = [draw(claim_value) for _ in range(3)] + [f"v{i}" for i in range(size)]
    groups = tuple(draw(st.lists(st.sampled_from(("g1", "g2")), max_size=2, unique=True)))
    return Principal(
        sub=str(claims["sub"]), groups=groups, scopes=(), token_use="id", client_id="c", claims=claims
    )


def _paths(principal: Principal) -> list[str]:
    alphabet = [
        *LITERALS,
        "*",
        "a%2Fb",
        "%61dmin",
        str(principal.claims["sub"]),
        str(principal.claims["tenant"]),
    ]
    alphabet = list(dict.fromkeys(a for a in alphabet if a and "/" not in a and len(a) < 50))
    paths = ["/", "//", "/./x"]
    for depth in (1, 2, 3):
        for word in itertools.product(alphabet, repeat=depth):
            if depth == 3 and word[0] not in ("t", "acme"):
                continue
            paths.append("/" + "/".join(word))
            paths.append("/" + "/".join(word) + "/")
    return paths


@settings(
    max_examples=90, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(policy_and_table(), st.lists(principal(), min_size=1, max_size=2), st.data())
def test_rendered_documents_agree_with_decide(
    spec: tuple[dict[str, Any], list[str] | None], callers: list[Principal], data: st.DataObject
) -> None:
    document, table = spec
    if table is not None:
        document = {**document, "api": table}
    policy = Policy.from_dict(document)
    clear_memo()
    for caller in callers:
        paths = _paths(caller)
        current_verb = data.draw(st.sampled_from(VERBS))
        current_path = data.draw(st.sampled_from(paths[3:]))
        arn = MethodArn.parse(f"{PREFIX}{current_verb}{current_path}")
        result = build_principal_policy(policy, caller, arn)
        rendered = result.document
        # The current request: answered as decide answers it, unless IAM cannot name it.
        allowed_now = policy.decide(caller, current_verb, current_path).allowed
        if not allowed_now or not any(c in current_path for c in "*?"):
            assert naive_allows(rendered, arn.arn) == allowed_now, (current_verb, current_path, rendered)
        if result.scope != "principal":
            continue
        for verb in (*VERBS, "PROPFIND"):
            for path in paths:
                CHECKS["requests"] += 1
                iam = naive_allows(rendered, PREFIX + verb + path)
                if policy.api is not None and not policy.api.routable(verb, path):
                    continue
                decided = policy.decide(caller, verb, path).allowed
                if iam:
                    assert decided, f"document allows {verb} {path} that decide denies: {rendered}"
                elif result.exact and decided and "%" not in path:
                    raise AssertionError(f"exact document refuses {verb} {path}: {rendered}")


def test_enough_requests_checked() -> None:
    # Runs after the property test in file order: the default run checks at least MIN_CHECKS requests.
    print(f"\nrequest checks: {CHECKS}")
    assert CHECKS["requests"] >= MIN_CHECKS, CHECKS
