"""check_document on documents written by hand, not by the builder: it must find a wrong Allow whatever
chose the globs, including when verbs share routes but not globs (the walk is shared only between verbs
whose patterns, globs included, are equal)."""

from __future__ import annotations

from cognito_authz.iam.check import check_document
from cognito_authz.iam.classes import Budget
from cognito_authz.iam.document import policy_document
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"
ONE_SEGMENT = Policy.from_dict({"version": 1, "rules": [{"id": "a", "routes": ["ANY /a/{x}"]}]})
CALLER = Principal.from_claims({"sub": "u"})


def check(allows: list[str], denies: tuple[str, ...] = ()) -> tuple[bool, bool, str]:
    statements = [("Allow", [PREFIX + r for r in allows])]
    if denies:
        statements.append(("Deny", [PREFIX + r for r in denies]))
    verdict = check_document(ONE_SEGMENT, CALLER, policy_document(statements), PREFIX, Budget(10**6))
    return verdict.sound, verdict.exact, verdict.example


def test_a_wrong_allow_on_one_verb_is_found_when_other_verbs_share_its_routes() -> None:
    # Every verb reaches the same routes (ANY): GET's glob is exact, POST's '*' also spans /a/ and
    # /a/x/y, which decide denies. Sharing GET's (or DELETE's) classes with POST would miss it.
    sound, _exact, example = check(["GET/a/b", "POST/a/*"])
    assert not sound
    assert example.startswith("POST /a/"), example


def test_a_document_that_says_exactly_the_route_is_sound_and_exact() -> None:
    verbs = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
    odd = ("*//*", "*/./*", "*/.", "*/../*", "*/..", "*%*")
    sound, exact, example = check([f"{v}/a/?*" for v in verbs], (*(f"{v}/a/*/?*" for v in verbs), *odd))
    assert (sound, exact) == (True, True), example


def test_a_route_that_is_a_table_route_of_one_verb_and_a_policy_route_of_another_splits_the_walk() -> None:
    # GET's walk is handed GET /{p} (a deny rule's route) and no table route; POST's the table's
    # POST /{p}: the same patterns, split apart differently. Sharing GET's walk (where nothing is
    # routable) with POST would call POST /c allowed without a decide; decide denies it and the gateway
    # routes it. Found by a random search of hand-written documents (before the walk's key held where
    # the table ends, the check called this document sound).
    policy = Policy.from_dict(
        {
            "version": 1,
            "api": ["POST /{p}"],
            "rules": [{"id": "r0", "effect": "deny", "routes": ["GET /{p}"]}],
        }
    )
    document = policy_document([("Allow", [PREFIX + "GET/c", PREFIX + "POST/c"])])
    verdict = check_document(policy, CALLER, document, PREFIX, Budget(10**6))
    assert not verdict.sound
    assert verdict.example == "POST /c", verdict.example
