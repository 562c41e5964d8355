"""cognito_authz.triggers: the pre token generation handler, alone and end to end.

End to end: the documented trigger (``examples/trigger/``) runs inside ``LocalIssuer`` the way Cognito
runs it, then the tokens go through the Lambda authorizer with the same policy. With the trigger the
tenant-isolation policy allows a user into their own tenant only; without it (a stock pool) the same user
is denied, because stock access tokens carry no ``custom:tenant_id``.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cognito_authz import Policy
from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer
from cognito_authz.claimsets import AWS_UNMODIFIABLE_CLAIMS, TRIGGER_RESERVED_CLAIMS
from cognito_authz.cli.demo_events import rest_token_event
from cognito_authz.errors import REASONS, ConfigError, EventError
from cognito_authz.iam import iam_allows
from cognito_authz.testing import LocalIssuer
from cognito_authz.triggers import PreTokenGenerationTrigger, claims_access_tokens_lack

ROOT = Path(__file__).resolve().parents[1]
TRIGGER = ROOT / "examples" / "trigger"

V2_EVENT: dict[str, Any] = {
    "version": "2",
    "triggerSource": "TokenGeneration_Authentication",
    "region": "eu-west-1",
    "userPoolId": "eu-west-1_AbCdEf123",
    "userName": "ada",
    "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client"},
    "request": {
        "userAttributes": {"sub": "s-1", "email": "ada@example.com", "custom:tenant_id": "acme"},
        "groupConfiguration": {
            "groupsToOverride": ["support"],
            "iamRolesToOverride": [],
            "preferredRole": None,
        },
        "scopes": ["aws.cognito.signin.user.admin"],
    },
    "response": {"claimsAndScopeOverrideDetails": None},
}


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "example_pre_token_generation", TRIGGER / "pre_token_generation.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example()


def decision(authorizer: LambdaAuthorizer, token: str, method: str, path: str) -> str:
    """What API Gateway does with the authorizer's answer for this request: Allow or Deny."""
    event = rest_token_event(token, method, path)
    answer = authorizer(event, None)  # a bad token raises "Unauthorized": the test fails loudly
    return "Allow" if iam_allows(answer["policyDocument"], event["methodArn"]) else "Deny"


# -- end to end: the documented trigger through LocalIssuer and the authorizer ---------------------------


@pytest.mark.parametrize("with_trigger", [True, False])
def test_tenant_isolation_on_access_tokens_needs_the_trigger(example: ModuleType, with_trigger: bool) -> None:
    policy: Policy = example.POLICY
    with LocalIssuer("eu-west-1_AbCdEf123", trigger=example.handler if with_trigger else None) as pool:
        authorizer = LambdaAuthorizer(pool.verifier("access"), policy)
        ada = pool.sign_in("ada", attributes={"custom:tenant_id": "acme"}).access_token
        grace = pool.sign_in(
            "grace", groups=["support"], attributes={"custom:tenant_id": "globex"}
        ).access_token
        own = decision(authorizer, ada, "GET", "/tenants/acme/projects")
        other = decision(authorizer, ada, "GET", "/tenants/globex/projects")
        tickets = decision(authorizer, grace, "GET", "/tickets/7")
        if with_trigger:
            assert (own, other, tickets) == ("Allow", "Deny", "Allow")
        else:  # as on a stock pool: nothing in the access token says which tenant, so no tenant at all
            assert (own, other, tickets) == ("Deny", "Deny", "Deny")
        # The ID token carries the attribute either way (custom attributes are ID-token claims).
        id_claims = pool.verifier("id").verify(
            pool.sign_in("ada", attributes={"custom:tenant_id": "acme"}).id_token
        )
        assert id_claims.claims["custom:tenant_id"] == "acme"


def test_the_example_policy_lints_the_claim_its_trigger_adds(example: ModuleType) -> None:
    findings = [f for f in example.POLICY.lint() if f.code == "claim_not_in_token"]
    assert [f.rule_id for f in findings] == ["tenant-members"]
    assert example.handler.copy_attributes == ("custom:tenant_id",)


def test_the_example_sam_template_passes_cfn_lint() -> None:
    from cfnlint.api import lint_file

    assert [str(match) for match in lint_file(TRIGGER / "template.yaml")] == []


# -- the handler alone -----------------------------------------------------------------------------------


def test_v2_response_shape() -> None:
    trigger = PreTokenGenerationTrigger(
        copy_attributes=["custom:tenant_id", "custom:plan"],
        scopes_by_group={"support": ["tickets/read", "tickets/write"], "other": ["x"]},
        suppress_claims=["email"],
    )
    event = trigger(copy.deepcopy(V2_EVENT), None)
    assert event["response"] == {
        "claimsAndScopeOverrideDetails": {
            "idTokenGeneration": {},
            "accessTokenGeneration": {
                "claimsToAddOrOverride": {"custom:tenant_id": "acme"},  # custom:plan: the user has none
                "claimsToSuppress": ["email"],
                "scopesToAdd": ["tickets/read", "tickets/write"],
            },
        }
    }


def test_v3_client_credentials_get_no_user_claims() -> None:
    trigger = PreTokenGenerationTrigger(
        copy_attributes=["custom:tenant_id"], scopes_by_group={"support": ["a"]}
    )
    event = copy.deepcopy(V2_EVENT)
    event.update(version="3", triggerSource="TokenGeneration_ClientCredentials")
    event["request"] = {"userAttributes": {}, "groupConfiguration": {}, "scopes": ["svc/read"]}
    assert trigger.response(event) == {"accessTokenGeneration": {}}
    assert trigger.response({**copy.deepcopy(V2_EVENT), "version": "3"})["accessTokenGeneration"]


@pytest.mark.parametrize(
    "change",
    [
        {"version": "1"},
        {"version": None},
        {"triggerSource": "TokenGeneration_Unknown"},
        {"triggerSource": "TokenGeneration_ClientCredentials"},  # client credentials need version 3
        {"request": None},
        {"request": {"userAttributes": ["not", "a", "map"]}},
        {"request": {"userAttributes": {}, "groupConfiguration": {"groupsToOverride": "admin"}}},
    ],
)
def test_events_it_cannot_answer_fail_the_lambda(change: dict[str, Any]) -> None:
    event = {**copy.deepcopy(V2_EVENT), **change}
    with pytest.raises(EventError) as info:
        PreTokenGenerationTrigger(copy_attributes=["custom:tenant_id"])(event, None)
    assert info.value.reason == "invalid_trigger_event"
    assert "invalid_trigger_event" in REASONS
    with pytest.raises(EventError):
        PreTokenGenerationTrigger().response(["not an event"])


@pytest.mark.parametrize(
    "options",
    [
        {"copy_attributes": ["sub"]},  # Cognito's own claims cannot be changed by a trigger
        {"copy_attributes": ["client_id"]},
        {"suppress_claims": ["cognito:groups"]},
        {"copy_attributes": ["custom:a"], "suppress_claims": ["custom:a"]},
        {"copy_attributes": "custom:tenant_id"},  # a string, not a list
        {"scopes_by_group": {"support": ["two words"]}},
        {"scopes_by_group": ["support"]},
    ],
)
def test_bad_choices_are_config_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        PreTokenGenerationTrigger(**options)


def test_from_policy_copies_what_access_tokens_lack() -> None:
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [
                {
                    "id": "t",
                    "routes": ["GET /t/{t}"],
                    "when": {"claims": {"custom:tenant_id": "{t}", "sub": "*"}},
                },
                {
                    "id": "e",
                    "routes": ["GET /e"],
                    "unless": {"claims": {"email_verified": False, "aud": "x"}},
                },
            ],
        }
    )
    assert claims_access_tokens_lack(policy) == ("custom:tenant_id", "email_verified")
    # aud is a JWT claim a trigger cannot set; sub is carried already.
    assert PreTokenGenerationTrigger.from_policy(policy).copy_attributes == (
        "custom:tenant_id",
        "email_verified",
    )
    assert PreTokenGenerationTrigger.from_policy(policy, copy_attributes=[]).copy_attributes == ()


# -- LocalIssuer applies a trigger's answer the way Cognito does -------------------------------------------


def test_local_issuer_applies_every_part_of_the_response() -> None:
    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        event["response"]["claimsAndScopeOverrideDetails"] = {
            "idTokenGeneration": {"claimsToAddOrOverride": {"plan": "gold"}, "claimsToSuppress": ["email"]},
            "accessTokenGeneration": {
                "claimsToAddOrOverride": {"tenant": {"id": "acme", "tier": 2}},
                "scopesToAdd": ["orders/read"],
                "scopesToSuppress": ["aws.cognito.signin.user.admin"],
            },
            "groupOverrideDetails": {"groupsToOverride": ["readers"]},
        }
        return event

    issuer = LocalIssuer(serve=False, trigger=handler)
    tokens = issuer.sign_in("ada", groups=["admin"])
    access = issuer.verifier("access").verify(tokens.access_token)
    ident = issuer.verifier("id").verify(tokens.id_token)
    assert access.claims["tenant"] == {"id": "acme", "tier": 2}
    assert access.scopes == ("orders/read",)
    assert access.groups == ident.groups == ("readers",)
    assert ident.claims["plan"] == "gold"
    assert "email" not in ident.claims


def test_local_issuer_refuses_what_cognito_would_refuse() -> None:
    def rewrites_sub(event: dict[str, Any], context: object) -> dict[str, Any]:
        event["response"]["claimsAndScopeOverrideDetails"] = {
            "accessTokenGeneration": {"claimsToAddOrOverride": {"sub": "admin"}}
        }
        return event

    with pytest.raises(ConfigError, match="sub"):
        LocalIssuer(serve=False, trigger=rewrites_sub).sign_in("ada")


def test_only_version_3_triggers_see_client_credentials() -> None:
    seen: list[str] = []

    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        seen.append(event["triggerSource"])
        event["response"]["claimsAndScopeOverrideDetails"] = {
            "accessTokenGeneration": {"claimsToAddOrOverride": {"custom:tier": "gold"}}
        }
        return event

    v2 = LocalIssuer(serve=False, trigger=handler, trigger_version="2")
    assert "custom:tier" not in v2.verifier("access").verify(v2.mint_m2m_token()).claims
    v3 = LocalIssuer(serve=False, trigger=handler, trigger_version="3")
    assert v3.verifier("access").verify(v3.mint_m2m_token()).claims["custom:tier"] == "gold"
    assert seen == ["TokenGeneration_ClientCredentials"]


def test_stock_sign_in_keeps_attributes_out_of_access_tokens() -> None:
    issuer = LocalIssuer(serve=False)
    tokens = issuer.sign_in("ada", groups=["g"], attributes={"custom:tenant_id": "acme", "name": "Ada"})
    access = issuer.verifier("access").verify(tokens.access_token)
    ident = issuer.verifier("id").verify(tokens.id_token)
    assert set(access.claims) == {
        "sub", "cognito:groups", "iss", "version", "client_id", "origin_jti", "event_id", "token_use",
        "scope", "auth_time", "exp", "iat", "jti", "username",
    }  # fmt: skip
    assert ident.claims["custom:tenant_id"] == "acme"
    assert ident.claims["name"] == "Ada"
    assert access.sub == ident.sub


@pytest.mark.parametrize("claim", sorted(AWS_UNMODIFIABLE_CLAIMS))
def test_every_claim_aws_says_a_trigger_cannot_modify_is_refused(claim: str) -> None:
    # The Developer Guide's list (claimsets.AWS_UNMODIFIABLE_CLAIMS) must stay inside ours: a trigger
    # configured to copy or suppress one of them would be refused by Cognito at sign-in, so it is a
    # ConfigError here, at build time.
    assert claim in TRIGGER_RESERVED_CLAIMS
    for option in ("copy_attributes", "suppress_claims"):
        with pytest.raises(ConfigError) as caught:
            PreTokenGenerationTrigger(**{option: [claim]})
        assert caught.value.reason == "invalid_config"
