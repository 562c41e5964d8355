"""The builder's fast paths answer as the slow ones: the current request guarded through σ, and a
repeated caller's answer found by identity.

A new caller of a memoized shape gets the stand-in's document rendered with its own values; whether that
document allows the current ARN is asked of the stand-in's compiled matcher on the ARN's σ-image
(``renaming.rename``). These tests pick requests where that answer decides the result: a request the
authorizer refused that the caller's own glob spans (must get a request-scoped Deny), and one the document
already allows (must not be named a second time).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.iam import MethodArn, build_principal_policy, clear_memo, iam_allows
from cognito_authz.iam.renaming import RenderPlan, render
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/"

POLICY = Policy.from_dict(
    {
        "version": 1,
        "api": ["GET /t/{tenant}/items", "GET /t/{tenant}/items/{id}", "GET /users/{userId}"],
        "rules": [
            {
                "id": "tenant",
                "routes": ["GET /t/{tenant}/{proxy+}"],
                "when": {"claims": {"custom:tenant_id": "{tenant}"}},
            },
            {"id": "own", "routes": ["GET /users/{userId}"], "when": {"claims": {"sub": "{userId}"}}},
        ],
    }
)


def _caller(sub: str, tenant: str) -> Principal:
    return Principal.from_claims({"sub": sub, "custom:tenant_id": tenant})


def test_a_request_the_caller_refused_is_never_answered_allow_by_its_own_glob() -> None:
    clear_memo()
    first = build_principal_policy(
        POLICY, _caller("u-1", "acme"), MethodArn.parse(PREFIX + "GET/t/acme/items")
    )
    assert first.scope == "principal"
    # A second caller of the same shape reuses the proof. The authorizer passes its own verdict (here
    # "denied", as for a request it routed elsewhere); the caller's rendered document spans the ARN, so
    # the answer must be for this request alone, and a Deny.
    arn = MethodArn.parse(PREFIX + "GET/t/globex/items")
    caller = _caller("u-2", "globex")
    result = build_principal_policy(POLICY, caller, arn, allowed=False)
    assert (result.scope, result.reason) == ("request", "not_routable")
    assert not iam_allows(result.document, arn.arn)
    # The same result as a build without the memo (a proof for this caller alone, no renaming).
    clear_memo()
    cold = build_principal_policy(POLICY, caller, arn, allowed=False)
    assert (result.scope, result.reason, result.document) == (cold.scope, cold.reason, cold.document)


def test_an_allowed_request_the_rendered_document_covers_is_not_named_again() -> None:
    clear_memo()
    build_principal_policy(POLICY, _caller("u-1", "acme"), MethodArn.parse(PREFIX + "GET/users/u-1"))
    arn = MethodArn.parse(PREFIX + "GET/users/u-2")
    result = build_principal_policy(POLICY, _caller("u-2", "globex"), arn)
    assert result.scope == "principal"
    assert result.exact
    resources = [r for s in result.document["Statement"] for r in s["Resource"]]
    assert resources.count(arn.arn) == 1, resources
    clear_memo()
    cold = build_principal_policy(POLICY, _caller("u-2", "globex"), arn)
    assert cold.document == result.document


def test_a_repeated_caller_gets_an_equal_answer_it_owns() -> None:
    clear_memo()
    caller = _caller("u-3", "acme")
    arn = MethodArn.parse(PREFIX + "GET/t/acme/items")
    first = build_principal_policy(POLICY, caller, arn)
    first.document["Statement"][0]["Resource"].append("tampered")
    again = build_principal_policy(POLICY, caller, arn)
    assert "tampered" not in [r for s in again.document["Statement"] for r in s["Resource"]]
    # Another principal asking for the same ARN with the same verdict never gets the first one's answer.
    other = build_principal_policy(POLICY, _caller("u-4", "acme"), arn)
    resources = [r for s in other.document["Statement"] for r in s["Resource"]]
    assert PREFIX + "GET/users/u-4" in resources
    assert PREFIX + "GET/users/u-3" not in resources


SEGMENTS = st.sampled_from(["~0~", "~1~", "acme", "u-1", "x", "*", "?*", "", "%"])


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.lists(SEGMENTS, max_size=4).map(lambda s: PREFIX + "GET/" + "/".join(s)),
                st.sampled_from(["*", PREFIX + "*", "arn:aws:execute-api:r:1:other/prod/GET/acme"]),
            ),
            min_size=1,
            max_size=5,
        ),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from([{"~0~": "acme"}, {"~0~": "u-1", "~1~": "acme"}, {"~1~": "x"}]),
)
def test_the_prepared_rendering_equals_render(resources: list[list[str]], values: dict[str, str]) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": r} for r in resources],
    }
    assert RenderPlan.of(document, PREFIX).render(values) == render(document, PREFIX, values)
