"""``authorizer_answer`` (what the Lambda authorizer reads of ``build_principal_policy``, without the
``PolicyResult`` around a new caller's filled template) gives the same document and scope.

New callers, repeated callers (the same principal object), callers whose values collide with route
literals, with each other and with placeholders, requests that hold those values, callers without a
renamed claim (the finished-answer path), verdicts decided on more than the ARN, and size limits that cut
some documents to request scope: for each, the document ``authorizer_answer`` hands out equals
``build_principal_policy``'s, and its reason is ``None`` exactly when that answer is principal-wide (the
request-scoped reason otherwise).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.iam import MethodArn, build_principal_policy, clear_memo, document_size
from cognito_authz.iam.builder import DEFAULT_MAX_BYTES, authorizer_answer
from cognito_authz.principal import Principal
from tests.iam.test_iam_answer_template import CALLERS, POLICY, PREFIX, REQUESTS, _principal


def _same_answer(principal: Principal, arn: MethodArn, max_bytes: int, allowed: bool) -> None:
    document, reason = authorizer_answer(POLICY, principal, arn, max_bytes, allowed)
    want = build_principal_policy(POLICY, principal, arn, max_bytes=max_bytes, allowed=allowed)
    assert document == want.document, (principal, arn.arn)
    assert reason == (want.reason if want.scope == "request" else None), (principal, arn.arn, want)
    if want.scope == "principal":
        # What the authorizer returns is what the limits let through.
        assert document_size(document) == want.size <= max_bytes


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(CALLERS, REQUESTS, st.booleans(), st.booleans()), min_size=1, max_size=6))
def test_the_authorizer_reads_build_principal_policys_document_and_scope(
    calls: list[
        tuple[
            tuple[str, str | None, list[str], str],
            tuple[str, str, str, str, bool | None, int],
            bool,
            bool,
        ]
    ],
) -> None:
    clear_memo()
    for (sub, tenant, groups, scope), (verb, path, v, w, allowed, max_bytes), first, again in calls:
        principal = _principal(sub, tenant, groups, scope)
        if "/" in v or "/" in w:
            continue
        arn = MethodArn.parse(f"{PREFIX}{verb}{path.replace('{v}', v).replace('{w}', w)}")
        verdict = POLICY.decide(principal, verb, arn.path).allowed if allowed is None else allowed
        if first:  # the authorizer's answer first, then build_principal_policy's (a repeated caller)
            _same_answer(principal, arn, max_bytes, verdict)
        else:
            want = build_principal_policy(POLICY, principal, arn, max_bytes=max_bytes, allowed=verdict)
            document, reason = authorizer_answer(POLICY, principal, arn, max_bytes, verdict)
            assert document == want.document
            assert reason == (want.reason if want.scope == "request" else None)
        if again:  # the same principal again: its kept answer, filled afresh
            _same_answer(principal, arn, max_bytes, verdict)


def test_a_caller_without_a_renamed_claim_and_a_websocket_route_answer_alike() -> None:
    clear_memo()
    # No sub a template can rename (a placeholder's spelling): the finished-answer path.
    principal = Principal.from_claims({"sub": "~0~", "token_use": "access", "scope": "r"})
    for arn_text in (PREFIX + "GET/orders/7", PREFIX + "GET/users/me", PREFIX + "DELETE/orders"):
        arn = MethodArn.parse(arn_text)
        verdict = POLICY.decide(principal, arn.verb or "", arn.path).allowed
        _same_answer(principal, arn, DEFAULT_MAX_BYTES, verdict)
        _same_answer(principal, arn, 300, verdict)  # too large: request-scoped
    websocket = MethodArn.parse(PREFIX + "$connect")
    _same_answer(principal, websocket, DEFAULT_MAX_BYTES, True)


def test_the_answer_is_the_callers_own_to_change() -> None:
    clear_memo()
    arn = MethodArn.parse(PREFIX + "GET/users/u-1")
    principal = _principal("u-1", None, [], "r")
    document, reason = authorizer_answer(POLICY, principal, arn, DEFAULT_MAX_BYTES, True)
    assert reason is None
    document["Statement"][0]["Resource"].append(PREFIX + "*")
    again, _ = authorizer_answer(POLICY, principal, arn, DEFAULT_MAX_BYTES, True)
    other, _ = authorizer_answer(POLICY, _principal("u-2", None, [], "r"), arn, DEFAULT_MAX_BYTES, True)
    assert PREFIX + "*" not in again["Statement"][0]["Resource"]
    assert PREFIX + "*" not in other["Statement"][0]["Resource"]
