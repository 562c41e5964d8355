"""The choice's fast parts against plain references: the linear-time glob regex and the lazy greedy cover.

Neither is trusted for soundness (the check has the last word), but a wrong match or a different cover
would silently cost exactness, and the budget's figures assume these are what they replaced.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.iam.choice import _cover, _glob_regex
from cognito_authz.iam.classes import Budget
from cognito_authz.iam.patterns import MANY, PLUS, Token

SEGMENTS = st.sampled_from(["a", "b", "ab", "x0", ""])
TOKENS = st.lists(st.sampled_from([MANY, PLUS, "a", "b", "ab"]), min_size=1, max_size=6)


def backtracking(tokens: tuple[Token, ...]) -> re.Pattern[str]:
    # The obvious translation ('*' is '.*', '?' is '.'), which the builder used before: a reference.
    text = "/" + "/".join("*" if t is MANY else "?*" if t is PLUS else str(t) for t in tokens)
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text), re.S)


@settings(max_examples=3000)
@given(TOKENS, st.lists(SEGMENTS, min_size=1, max_size=8))
def test_the_linear_glob_regex_matches_as_the_backtracking_one(tokens: list[Token], word: list[str]) -> None:
    path = "/" + "/".join(word)
    expected = backtracking(tuple(tokens)).fullmatch(path) is not None
    assert (_glob_regex(tuple(tokens)).fullmatch(path) is not None) == expected, (tokens, path)


def test_a_failing_match_with_many_wildcards_is_not_a_search() -> None:
    # Six '*' over a long path that fails at the very end: the backtracking form tries every split.
    tokens = (MANY, "a", MANY, "a", MANY, "a", MANY, "a", MANY, "a", MANY, "zz")
    path = "/" + "/".join(["a"] * 60)
    assert _glob_regex(tokens).fullmatch(path) is None
    assert _glob_regex(tokens).fullmatch(path + "/zz") is not None


def eager(targets: set[int], options: dict[tuple[Token, ...], set[int]]) -> list[tuple[Token, ...]]:
    # The cover as it was written before the heap: recompute every option's gain on each pick.
    chosen: list[tuple[Token, ...]] = []
    left = set(targets)
    while left:
        best = max(options, key=lambda g: (len(options[g] & left), -len(g)), default=None)
        if best is None or not options[best] & left:
            break
        chosen.append(best)
        left -= options[best]
    return chosen


@settings(max_examples=1500)
@given(
    st.dictionaries(
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4).map(tuple),
        st.sets(st.integers(0, 15), max_size=8),
        max_size=12,
    ),
    st.sets(st.integers(0, 15)),
)
def test_the_lazy_cover_picks_what_the_eager_one_picks(
    options: dict[tuple[Token, ...], set[int]], targets: set[int]
) -> None:
    assert _cover(targets, options, Budget(10**6)) == eager(targets, options)


# --- the grants read as globs: the first guess ------------------------------------------------------------

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"


def _guess_and_proof(document: dict[str, object], claims: dict[str, object]) -> tuple[object, object, object]:
    from cognito_authz.iam import MethodArn, build_principal_policy, clear_memo
    from cognito_authz.iam.check import check_document
    from cognito_authz.iam.choice import assemble, grant_guess
    from cognito_authz.iam.world import policy_facts
    from cognito_authz.policy import Policy
    from cognito_authz.principal import Principal

    policy = Policy.from_dict(document)
    principal = Principal.from_claims(claims)
    guess = grant_guess(policy_facts(policy), policy.allowed_routes(principal), Budget(10_000))
    verdict = None
    if guess is not None:
        document = assemble(PREFIX, *guess)
        verdict = check_document(policy, principal, document, PREFIX, Budget(100_000))
    clear_memo()
    result = build_principal_policy(policy, principal, MethodArn.parse(PREFIX + "GET/a/1/b"))
    return guess, verdict, result


def test_an_admins_grant_is_its_document_without_judging_a_request() -> None:
    from bench.iam import ARN, PRINCIPALS, table_policy
    from cognito_authz.iam import clear_memo
    from cognito_authz.iam.builder import principal_proof
    from cognito_authz.iam.choice import grant_guess
    from cognito_authz.iam.world import VERBS, policy_facts
    from cognito_authz.principal import Principal

    policy, admin = table_policy(), Principal.from_claims(PRINCIPALS["admin"])
    guess = grant_guess(policy_facts(policy), policy.allowed_routes(admin), Budget(10_000))
    # ANY /{proxy+} is '?*' on every verb (never the root); /health and /users/u-admin add nothing.
    assert guess == ([(verb, (PLUS,)) for verb in VERBS], [])
    clear_memo()
    proof = principal_proof(policy, admin, ARN)
    assert proof.exact
    assert proof.document is not None
    allows = proof.document["Statement"][0]["Resource"]
    assert allows == [f"{ARN.prefix}{verb}/?*" for verb in VERBS]


def test_a_guess_the_check_finds_unsound_falls_back_to_the_choice() -> None:
    # a/*/b also takes a/1/c/b, a route of the table the caller may not call: the check refuses the
    # guess, and the choice's document is exact.
    guess, verdict, result = _guess_and_proof(
        {
            "version": 1,
            "api": ["GET /a/{x}/b", "GET /a/{x}/c/b"],
            "rules": [{"id": "r", "routes": ["GET /a/{x}/b"]}],
        },
        {"sub": "u"},
    )
    assert guess == ([("GET", ("a", MANY, "b")), ("GET", ("a", MANY, "b", ""))], [])
    assert verdict is not None
    assert not verdict.sound
    assert (result.scope, result.exact) == ("principal", True)
    assert "/GET/a/1/c/b" not in str(result.document)


def test_a_deny_grant_an_allow_meets_is_carved_out_with_that_allows_values() -> None:
    # The bench's tenant member: /tenants/{t}/admin denied, /tenants/acme/{proxy+} allowed; the Deny
    # takes t from the Allow's grant, so it refuses acme's admin route only.
    from bench.iam import PRINCIPALS, table_policy
    from cognito_authz.iam.check import check_document
    from cognito_authz.iam.choice import assemble, grant_guess
    from cognito_authz.iam.world import policy_facts
    from cognito_authz.principal import Principal

    policy, member = table_policy(), Principal.from_claims(PRINCIPALS["tenant member"])
    guess = grant_guess(policy_facts(policy), policy.allowed_routes(member), Budget(10_000))
    assert guess is not None
    allow, deny = guess
    assert ("GET", ("tenants", "acme", PLUS)) in allow
    assert sorted(tokens for verb, tokens in deny if verb == "GET") == [
        ("tenants", "acme", "admin"),
        ("tenants", "acme", "admin", ""),
    ]
    verdict = check_document(policy, member, assemble(PREFIX, allow, deny), PREFIX, Budget(100_000))
    assert (verdict.sound, verdict.exact) == (True, True)


def test_a_deny_grant_with_a_parameter_first_leaves_the_carve_out_to_the_choice() -> None:
    guess, _verdict, result = _guess_and_proof(
        {
            "version": 1,
            "rules": [
                {"id": "r", "routes": ["ANY /a/{x}"]},
                {"id": "d", "effect": "deny", "routes": ["GET /{y}/admin"]},
            ],
        },
        {"sub": "u"},
    )
    assert guess is None
    assert (result.scope, result.exact) == ("principal", True)


def test_a_deny_grant_under_another_first_segment_is_left_out_of_the_guess() -> None:
    guess, verdict, result = _guess_and_proof(
        {
            "version": 1,
            "rules": [
                {"id": "r", "routes": ["ANY /a/{rest+}", "GET /b"]},
                {"id": "e", "effect": "deny", "routes": ["GET /z", "GET /z/{y}"]},
            ],
        },
        {"sub": "u"},
    )
    assert guess is not None
    assert ("GET", ("a", PLUS)) in guess[0]
    assert ("GET", ("b", "")) in guess[0]
    assert guess[1] == []
    assert verdict is not None
    assert (verdict.sound, verdict.exact) == (True, True)
    assert (result.scope, result.exact) == ("principal", True)


def test_a_routes_slashed_form_and_its_children_are_written_as_one_star() -> None:
    # GET /orders gives orders and orders/; GET /orders/{id} gives orders/?*. IAM's '*' is '?*' or
    # nothing, so orders/ and orders/?* are orders/*, written first (wildcards before literals).
    guess, verdict, result = _guess_and_proof(
        {
            "version": 1,
            "api": ["GET /orders", "GET /orders/{id}", "GET /a/{x}/b"],
            "rules": [{"id": "r", "routes": ["GET /orders", "GET /orders/{id}"]}],
        },
        {"sub": "u"},
    )
    assert guess == ([("GET", ("orders", MANY)), ("GET", ("orders",))], [])
    assert verdict is not None
    assert (verdict.sound, verdict.exact) == (True, True)
    assert (result.scope, result.exact) == ("principal", True)
