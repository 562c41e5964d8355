"""Principal-wide documents for the shapes that used to be slow, held to ``decide`` (behaviour only: the
timings are reported by /tmp-style scripts and bench/, never asserted here).

- The personas of ``examples/policies/demo.yaml`` and ``design_example.yaml`` get principal-wide
  documents, exact on a grid of requests built from every route with many values in every parameter.
  The demo contractor (one tenant, one project) is expressible and gets its values literally.
- The candidate pool is only a guess: an engine whose ``allowed_routes`` lies about what can fire costs a
  fallback, never soundness.
- The work budget bounds the proof: running out gives a logged, request-scoped document.
- The self-check evaluates documents with compiled regular expressions; property tests hold that
  evaluation to ``iam_allows``, ``glob_match`` and a dynamic-programming reference glob.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st
from naive_iam import naive_allows

from cognito_authz.iam import (
    MethodArn,
    build_principal_policy,
    clear_memo,
    iam_allows,
)
from cognito_authz.iam.arn import HTTP_VERBS
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"
CURRENT = MethodArn.parse(PREFIX + "GET/tenants/acme/projects")
# Values that collide with the personas' claims, with route literals, and with nothing; fewer of them in
# routes with more than one parameter.
VALUES = ("acme", "globex", "p7", "p8", "user-0", "user-1", "projects", "billing", "x0")
SHORT = ("acme", "globex", "p7", "user-0", "billing", "x0")


@pytest.fixture(autouse=True)
def _cold_memo() -> None:
    # Every test proves its documents itself (the memo would hand back another test's proof).
    clear_memo()


def request_grid(policy: Policy) -> list[tuple[str, str]]:
    """Every route with every combination of values in its parameters (one or two segments for a greedy
    one), one segment shorter and one deeper, and a few paths no route matches; with every verb."""
    paths: set[str] = {"/", "/x0", "/tenants", "/x0/x0/x0"}
    for route in policy.routes:
        if route.method is None:
            continue
        values = VALUES if len(route.params) < 2 else SHORT
        options: list[list[str]] = []
        for segment in route.path.strip("/").split("/") if route.path != "/" else []:
            if segment.endswith("+}"):
                options.append([*values, "acme/x0", "x0/p7"])
            elif segment.startswith("{"):
                options.append(list(values))
            else:
                options.append([segment])
        for combo in product(*options):
            path = "/" + "/".join(combo)
            paths.update({path, path + "/x0", path.rsplit("/", 1)[0] or "/"})
    return [(verb, path) for verb in HTTP_VERBS for path in sorted(paths)]


def assert_exact(
    policy: Policy, principal: Principal, document: dict[str, Any], grid: list[tuple[str, str]]
) -> None:
    # Exact over the API's routable requests (the route table); other requests never reach a cached answer.
    if policy.api is not None:
        grid = [(verb, path) for verb, path in grid if policy.api.routable(verb, path)]
    wrong = [
        (verb, path)
        for verb, path in grid
        if naive_allows(document, CURRENT.with_resource(verb, path))
        != policy.decide(principal, verb, path).allowed
    ]
    assert not wrong, wrong[:10]
    # The library's own evaluator agrees on a sample.
    for verb, path in grid[:: max(1, len(grid) // 200)]:
        assert (
            iam_allows(document, CURRENT.with_resource(verb, path))
            == policy.decide(principal, verb, path).allowed
        )


def persona(groups: list[str], scopes: str = "", sub: str = "user-0", **claims: Any) -> Principal:
    base: dict[str, Any] = {"sub": sub, "cognito:groups": groups, "token_use": "access", "client_id": "c"}
    if scopes:
        base["scope"] = scopes
    return Principal.from_claims({**base, **{k.replace("__", ":"): v for k, v in claims.items()}})


# --- the demo and design-example policies ------------------------------------------------------------

DEMO = Policy.from_file(EXAMPLES / "demo.yaml")
DESIGN = Policy.from_file(EXAMPLES / "design_example.yaml")
DEMO_GRID = request_grid(DEMO)
DESIGN_GRID = request_grid(DESIGN)

DEMO_PERSONAS = {
    "member-rw": persona(["member"], "projects/read projects/write", custom__tenant_id="acme"),
    "member-ro": persona(["member"], "projects/read", custom__tenant_id="acme"),
    "member-billing": persona(["member"], "billing/read", custom__tenant_id="acme"),
    "contractor": persona(["contractor"], custom__tenant_id="acme", custom__project_id="p7"),
    "contractor-no-project": persona(["contractor"], custom__tenant_id="acme"),
    "platform-admin": persona(["platform-admin"]),
    "nobody": persona([]),
}
DESIGN_PERSONAS = {
    "admin": persona(["admin"]),
    "support": persona(["support"], "orders/read"),
    "customer": persona(["customer"], custom__tenant_id="acme"),
    "contractor": persona(["contractor"]),
    "contractor-with-tenant": persona(["contractor"], custom__tenant_id="acme", custom__project_id="p7"),
}


@pytest.mark.parametrize("name", sorted(DEMO_PERSONAS))
def test_demo_personas_get_exact_principal_wide_documents(name: str) -> None:
    principal = DEMO_PERSONAS[name]
    result = build_principal_policy(DEMO, principal, CURRENT)
    assert (result.scope, result.reason) == ("principal", ""), result.detail
    assert_exact(DEMO, principal, result.document, DEMO_GRID)


@pytest.mark.parametrize("name", sorted(DESIGN_PERSONAS))
def test_design_example_personas_get_exact_principal_wide_documents(name: str) -> None:
    principal = DESIGN_PERSONAS[name]
    result = build_principal_policy(DESIGN, principal, CURRENT)
    assert (result.scope, result.reason) == ("principal", ""), result.detail
    assert_exact(DESIGN, principal, result.document, DESIGN_GRID)


def test_contractor_document_names_its_one_tenant_and_project() -> None:
    # One tenant literal and one project literal: exactly expressible, with no wildcard standing for
    # either (that would need "any tenant except acme", which IAM cannot say).
    result = build_principal_policy(DEMO, DEMO_PERSONAS["contractor"], CURRENT)
    assert result.scope == "principal"
    resources = [r for s in result.document["Statement"] for r in s["Resource"]]
    tenant_resources = [r[len(PREFIX) :] for r in resources if "/tenants/" in r]
    assert tenant_resources
    assert all(r.split("/")[1:5] == ["tenants", "acme", "projects", "p7"] for r in tenant_resources)
    assert PREFIX + "POST/tenants/acme/projects/p7/comments" in resources
    # Equivalent contractors share the proof and get their own values.
    other = persona(["contractor"], sub="user-1", custom__tenant_id="globex", custom__project_id="p8")
    renamed = build_principal_policy(DEMO, other, CURRENT)
    assert renamed.scope == "principal"
    assert PREFIX + "POST/tenants/globex/projects/p8/comments" in renamed.document["Statement"][0]["Resource"]
    assert_exact(DEMO, other, renamed.document, DEMO_GRID)


# --- the pool is a guess, never a premise --------------------------------------------------------------


class LyingEngine(Policy):
    """The demo policy, except that ``allowed_routes`` answers for another principal."""

    def __init__(self, policy: Policy, impostor: Principal) -> None:
        super().__init__(policy.document, source=policy.source)
        self.impostor = impostor

    def allowed_routes(self, principal: Principal) -> Any:
        return super().allowed_routes(self.impostor)


@pytest.mark.parametrize(
    ("name", "impostor"),
    [("member-rw", "platform-admin"), ("platform-admin", "nobody"), ("contractor", "member-rw")],
)
def test_wrong_hints_about_what_can_fire_never_make_a_document_wrong(name: str, impostor: str) -> None:
    principal = DEMO_PERSONAS[name]
    engine = LyingEngine(DEMO, DEMO_PERSONAS[impostor])
    result = build_principal_policy(engine, principal, CURRENT)
    for verb, path in DEMO_GRID:
        decided = DEMO.decide(principal, verb, path).allowed
        iam = naive_allows(result.document, CURRENT.with_resource(verb, path))
        assert decided or not iam, (verb, path)
        if result.exact and DEMO.api is not None and DEMO.api.routable(verb, path):
            assert iam == decided, (verb, path)


# --- the budget ---------------------------------------------------------------------------------------


# --- the self-check's evaluation of documents ----------------------------------------------------------

GLOB_CHARS = st.sampled_from(["a", "b", "/", ":", ".", "*", "?", "(", "[", "\\", "+", "$", "|"])
TEXT_CHARS = st.sampled_from(["a", "b", "/", ":", ".", "*", "?", "(", "[", "\\", "+", "$", "|", "\n"])


def reference_glob(glob: str, text: str) -> bool:
    """IAM wildcard semantics by dynamic programming: ``*`` any run of characters, ``?`` one, the rest
    itself (a ``*`` in the text is an ordinary character)."""
    matched = [True] + [False] * len(text)  # glob[:0] against text[:j]
    for ch in glob:
        if ch == "*":
            row = [matched[0]]
            for j in range(1, len(text) + 1):
                row.append(row[j - 1] or matched[j])
        else:
            row = [False] + [
                matched[j - 1] and (ch == "?" or ch == text[j - 1]) for j in range(1, len(text) + 1)
            ]
        matched = row
    return matched[len(text)]


SEGMENTS = st.sampled_from(["a", "b", "*", "a*", "*b", "?", "x.y", "(", ""])
HEADS = st.sampled_from(
    [
        PREFIX,
        PREFIX.replace("/prod/", "/*/"),
        "arn:aws:execute-api:*:*:*/",
        "arn:aws:execute-api:eu-west-1:*:abc123/prod/",
        "arn:aws:*",
        "*",
        "arn:aws:execute-api:eu-west-1:123456789012:abc123:prod/",
    ]
)
ARN_HEADS = st.sampled_from(
    [
        PREFIX,
        PREFIX.replace("/prod/", "/dev/"),
        "arn:aws:execute-api:eu-west-1:x:123456789012:abc123/prod/",
        "arn:aws:execute-api:eu-west-1:abc123/prod/",
        "arn:aws:execute-api:eu-west-1:123456789012:abc123:prod/",
    ]
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    statements = []
    for effect in draw(st.lists(st.sampled_from(["Allow", "Deny"]), min_size=1, max_size=3)):
        resources = []
        for _ in range(draw(st.integers(1, 3))):
            head = draw(HEADS)
            if head == "*":
                resources.append("*")
                continue
            verb = draw(st.sampled_from(["GET", "*", "POST", "G?T"]))
            tail = "/".join(draw(st.lists(SEGMENTS, max_size=3)))
            resources.append(f"{head}{verb}/{tail}")
        statement: dict[str, Any] = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resources}
        if draw(st.integers(0, 9)) == 0:
            statement["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}
