"""check_document against an independent oracle, on documents nobody chose well: random route tables, random
policies (allow and deny rules, some the caller's groups rule out) and random hand-written documents. When
the check calls a document sound, the naive IAM evaluator of ``naive_iam.py`` must never allow a routable
request that a fresh ``decide`` denies, over every path of up to three segments (with and without a trailing
slash) on three verbs; when it calls it exact, it must also allow every routable request ``decide`` allows.

The builder's property test (``test_iam_property.py``) rarely meets a wrong document, since the builder's
guess and choice are usually right; this one hands the check wrong documents on purpose, so a check that
tells too few classes apart (a shared walk keyed too loosely, a blind bit dropped, a deny rule's route left
out) is caught here.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from naive_iam import naive_allows

from cognito_authz.iam.check import ODD_PATHS, check_document
from cognito_authz.iam.classes import Budget
from cognito_authz.iam.document import policy_document
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"
VERBS = ("GET", "POST", "DELETE")
PATHS = ["/"] + [
    "/" + "/".join(word) + end
    for n in (1, 2, 3)
    for word in itertools.product(("a", "b", "c", "z"), repeat=n)
    for end in ("", "/")
]


@st.composite
def route(draw: st.DrawFn) -> str:
    method = draw(st.sampled_from(("ANY", "GET", "POST")))
    parts = draw(st.lists(st.sampled_from(("a", "b", "c", "{p}")), min_size=1, max_size=2))
    if parts.count("{p}") > 1:
        parts[parts.index("{p}")] = "{q}"
    if draw(st.integers(0, 3)) == 0:
        parts.append("{rest+}")
    return f"{method} /" + "/".join(parts)


@st.composite
def rule(draw: st.DrawFn, index: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f"r{index}",
        "routes": [draw(route())],
        "effect": draw(st.sampled_from(("allow", "allow", "deny"))),
    }
    if draw(st.integers(0, 2)) == 0:
        out["when"] = {"groups": ["g"]}
    if draw(st.integers(0, 4)) == 0:
        out["unless"] = {"groups": ["h"]}
    return out


glob = st.lists(st.sampled_from(("a", "b", "c", "*", "?*")), min_size=1, max_size=3).map("/".join)


@st.composite
def case(draw: st.DrawFn) -> tuple[Policy, Principal, dict[str, Any]]:
    table = draw(st.lists(route(), min_size=1, max_size=4, unique=True))
    rules = [draw(rule(i)) for i in range(draw(st.integers(1, 3)))]
    spec: dict[str, Any] = {"version": 1, "rules": rules}
    if draw(st.integers(0, 9)):
        spec["api"] = table
    # Globs given to several verbs at once, as the builder writes them (verbs then share walks): random
    # ones, and the allow rules' own routes read as globs, a parameter as `*`, `?*` or a literal, which
    # are often nearly right (a deny rule or a rule the caller cannot fire is what they miss).
    patterns = draw(st.lists(glob, max_size=2))
    for allow in rules:
        for text in allow["routes"] if allow["effect"] == "allow" else ():
            path = text.split(" ", 1)[1].strip("/").split("/")
            wild = st.sampled_from(("*", "?*", "a"))
            patterns.append("/".join(draw(wild) if part.startswith("{") else part for part in path))
    allows = [
        PREFIX + verb + "/" + pattern
        for pattern in patterns or ["a"]
        for verb in draw(st.lists(st.sampled_from(VERBS), min_size=1, max_size=3, unique=True))
    ]
    denies = [PREFIX + verb + "/" + draw(glob) for verb in draw(st.lists(st.sampled_from(VERBS), max_size=2))]
    denies += [PREFIX + odd for odd in ("*%*", *ODD_PATHS)]
    groups = draw(st.sampled_from(([], ["g"], ["h"], ["g", "h"])))
    caller = Principal.from_claims({"sub": "u", "cognito:groups": groups})
    return Policy.from_dict(spec), caller, policy_document([("Allow", allows), ("Deny", denies)])


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case())
def test_what_the_check_calls_sound_is_sound_for_an_independent_evaluator(
    found: tuple[Policy, Principal, dict[str, Any]],
) -> None:
    policy, caller, document = found
    verdict = check_document(policy, caller, document, PREFIX, Budget(10**6))
    if not verdict.sound:
        return
    api = policy.api
    for verb in VERBS:
        for path in PATHS:
            if api is not None and not api.routable(verb, path):
                continue
            allowed = policy.decide(caller, verb, path).allowed
            if naive_allows(document, PREFIX + verb + path):
                assert allowed, f"called sound, yet allows {verb} {path}: {document}"
            elif verdict.exact:
                assert not allowed, f"called exact, yet refuses {verb} {path}: {document}"
