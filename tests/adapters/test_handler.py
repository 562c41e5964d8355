"""``@protect`` on Lambda proxy handlers: REST v1, HTTP API 2.0 and ALB events, with real tokens from the
LocalIssuer, a real verifier fetching its JWKS over loopback, and the policy engine."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cognito_authz import CognitoVerifier, Principal
from cognito_authz.adapters import handler as handler_module
from cognito_authz.adapters.common import flatten_context
from cognito_authz.adapters.handler import configure, protect
from cognito_authz.errors import ConfigError
from cognito_authz.policy import Policy
from cognito_authz.testing import LocalIssuer

EventFactory = Callable[..., dict[str, Any]]

KINDS = ["rest_v1", "http_v2", "alb"]


@pytest.fixture(autouse=True)
def _clean_defaults() -> Iterator[None]:
    configure()
    handler_module._reset_environment_defaults()
    yield
    configure()
    handler_module._reset_environment_defaults()


def echo(calls: list[Principal]) -> Callable[..., dict[str, Any]]:
    def handler(event: dict[str, Any], context: object, *, principal: Principal) -> dict[str, Any]:
        calls.append(principal)
        return {"statusCode": 200, "body": json.dumps({"sub": principal.sub})}

    return handler


def header(response: dict[str, Any], name: str) -> str | None:
    if "multiValueHeaders" in response:
        values = response["multiValueHeaders"].get(name)
        return values[0] if values else None
    value = response["headers"].get(name)
    return value if isinstance(value, str) else None


def assert_rejected(response: dict[str, Any], kind: str, status: int, message: str) -> None:
    assert response["statusCode"] == status
    assert json.loads(response["body"]) == {"message": message}
    assert header(response, "Content-Type") == "application/json"
    assert response["isBase64Encoded"] is False
    if kind == "alb":
        assert response["statusDescription"] == f"{status} {message}"
    else:
        assert "statusDescription" not in response


# --- verifying the bearer token -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_allowed_request_reaches_the_handler_with_the_principal(
    kind: str,
    access_verifier: CognitoVerifier,
    adapter_policy: Policy,
    adapter_event: EventFactory,
    access_token: Callable[..., str],
) -> None:
    calls: list[Principal] = []
    wrapped = protect(verifier=access_verifier, policy=adapter_policy)(echo(calls))
    token = access_token(username="reader", scopes=["orders/read"])
    response = wrapped(adapter_event(kind, "GET", "/orders/42", token=token), None)
    assert response["statusCode"] == 200
    assert [p.username for p in calls] == ["reader"]
    assert json.loads(response["body"]) == {"sub": calls[0].sub}


@pytest.mark.parametrize("kind", KINDS)
def test_policy_deny_is_403_in_the_event_format(
    kind: str,
    access_verifier: CognitoVerifier,
    adapter_policy: Policy,
    adapter_event: EventFactory,
    access_token: Callable[..., str],
) -> None:
    calls: list[Principal] = []
    wrapped = protect(verifier=access_verifier, policy=adapter_policy)(echo(calls))
    token = access_token(scopes=["orders/read"])
    response = wrapped(adapter_event(kind, "DELETE", "/orders/42", token=token), None)
    assert_rejected(response, kind, 403, "Forbidden")
    assert header(response, "WWW-Authenticate") == 'Bearer error="insufficient_scope"'
    assert calls == []


@pytest.mark.parametrize("kind", KINDS)
def test_bad_token_is_401_invalid_token(
    kind: str,
    access_verifier: CognitoVerifier,
    adapter_policy: Policy,
    adapter_event: EventFactory,
    access_token: Callable[..., str],
) -> None:
    calls: list[Principal] = []
    wrapped = protect(verifier=access_verifier, policy=adapter_policy)(echo(calls))
    token = access_token(scopes=["orders/read"])
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = wrapped(adapter_event(kind, "GET", "/orders/42", token=tampered), None)
    assert_rejected(response, kind, 401, "Unauthorized")
    assert header(response, "WWW-Authenticate") == 'Bearer error="invalid_token"'
    assert tampered not in response["body"]
    assert calls == []


@pytest.mark.parametrize("kind", KINDS)
def test_missing_token_is_401_with_a_bare_challenge(
    kind: str, access_verifier: CognitoVerifier, adapter_event: EventFactory
) -> None:
    calls: list[Principal] = []
    wrapped = protect(verifier=access_verifier)(echo(calls))
    response = wrapped(adapter_event(kind, "GET", "/orders/42"), None)
    assert_rejected(response, kind, 401, "Unauthorized")
    # RFC 6750 3.1: no error code when the request carried no credentials at all.
    assert header(response, "WWW-Authenticate") == "Bearer"
    assert calls == []


@pytest.mark.parametrize("kind", KINDS)
def test_keys_unavailable_fails_closed_with_503(
    kind: str,
    adapter_keys_down: CognitoVerifier,
    adapter_policy: Policy,
    adapter_event: EventFactory,
    access_token: Callable[..., str],
) -> None:
    calls: list[Principal] = []
    wrapped = protect(verifier=adapter_keys_down, policy=adapter_policy)(echo(calls))
    response = wrapped(adapter_event(kind, "GET", "/orders/42", token=access_token(groups=["admin"])), None)
    assert_rejected(response, kind, 503, "Service Unavailable")
    assert header(response, "WWW-Authenticate") is None
    assert calls == []


def test_basic_auth_is_not_fed_to_the_verifier(
    access_verifier: CognitoVerifier, adapter_event: EventFactory
) -> None:
    wrapped = protect(verifier=access_verifier)(echo([]))
    response = wrapped(adapter_event("rest_v1", authorization="Basic dXNlcjpwYXNz"), None)
    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"] == "Bearer"


def test_bare_token_without_bearer_prefix_is_accepted(
    access_verifier: CognitoVerifier, adapter_event: EventFactory, access_token: Callable[..., str]
) -> None:
    calls: list[Principal] = []
    wrapped = protect(verifier=access_verifier)(echo(calls))
    response = wrapped(adapter_event("http_v2", authorization=access_token()), None)
    assert response["statusCode"] == 200
    assert len(calls) == 1


# --- the path the policy sees ---------------------------------------------------------------------


def test_http_v2_named_stage_is_removed_from_raw_path(
    access_verifier: CognitoVerifier,
    adapter_policy: Policy,
    adapter_event: EventFactory,
    access_token: Callable[..., str],
) -> None:
    wrapped = protect(verifier=access_verifier, policy=adapter_policy)(echo([]))
    token = access_token(scopes=["orders/read"])
    event = adapter_event("http_v2", "GET", "/orders/42", token=token, stage="prod")
    assert event["rawPath"] == "/prod/orders/42"
    assert wrapped(event, None)["statusCode"] == 200
    default_stage = adapter_event("http_v2", "GET", "/orders/42", token=token, stage="$default")
    assert default_stage["rawPath"] == "/orders/42"
    assert wrapped(default_stage, None)["statusCode"] == 200


def test_rest_v1_decides_on_path_not_the_staged_request_context_path(
    access_verifier: CognitoVerifier, adapter_event: EventFactory, access_token: Callable[..., str]
) -> None:
    # A stage named like the first segment: stripping it from REST's stage-less path would be wrong.
    policy = Policy.from_dict(
        {"version": 1, "rules": [{"id": "orders", "routes": ["GET /orders/{id}"], "when": {"scopes": ["x"]}}]}
    )
    wrapped = protect(verifier=access_verifier, policy=policy)(echo([]))
    event = adapter_event("rest_v1", "GET", "/orders/42", token=access_token(scopes=["x"]), stage="orders")
    assert event["requestContext"]["path"] == "/orders/orders/42"
    assert wrapped(event, None)["statusCode"] == 200


def test_claim_bound_path_parameter(
    access_verifier: CognitoVerifier,
    adapter_policy: Policy,
    adapter_event: EventFactory,
    access_token: Callable[..., str],
) -> None:
    wrapped = protect(verifier=access_verifier, policy=adapter_policy)(echo([]))
    token = access_token(sub="user-1", scopes=[])
    assert wrapped(adapter_event("http_v2", "GET", "/users/user-1", token=token), None)["statusCode"] == 200
    assert wrapped(adapter_event("http_v2", "GET", "/users/user-2", token=token), None)["statusCode"] == 403


# --- per-handler requirements ---------------------------------------------------------------------


def test_group_requirement_without_a_policy(
    access_verifier: CognitoVerifier, adapter_event: EventFactory, access_token: Callable[..., str]
) -> None:
    wrapped = protect(verifier=access_verifier, groups=["admin", "support"])(echo([]))
    allowed = wrapped(adapter_event("rest_v1", token=access_token(groups=["support"])), None)
    assert allowed["statusCode"] == 200
    denied = wrapped(adapter_event("rest_v1", token=access_token(groups=["customer"])), None)
    assert denied["statusCode"] == 403
    assert denied["headers"]["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'


def test_all_scopes_requirement(
    access_verifier: CognitoVerifier, adapter_event: EventFactory, access_token: Callable[..., str]
) -> None:
    wrapped = protect(verifier=access_verifier, all_scopes=["orders/read", "orders/write"])(echo([]))
    both = access_token(scopes=["orders/read", "orders/write"])
    one = access_token(scopes=["orders/read"])
    assert wrapped(adapter_event("http_v2", token=both), None)["statusCode"] == 200
    assert wrapped(adapter_event("http_v2", token=one), None)["statusCode"] == 403


def test_requirement_and_policy_must_both_allow(
    access_verifier: CognitoVerifier,
    adapter_policy: Policy,
    adapter_event: EventFactory,
    access_token: Callable[..., str],
) -> None:
    wrapped = protect(verifier=access_verifier, policy=adapter_policy, groups=["support"])(echo([]))
    reader = access_token(scopes=["orders/read"])
    support_reader = access_token(groups=["support"], scopes=["orders/read"])
    support_only = access_token(groups=["support"], scopes=[])
    assert wrapped(adapter_event("alb", token=reader), None)["statusCode"] == 403
    assert wrapped(adapter_event("alb", token=support_only), None)["statusCode"] == 403
    assert wrapped(adapter_event("alb", token=support_reader), None)["statusCode"] == 200


# --- trusting an upstream API Gateway authorizer --------------------------------------------------


def test_trusted_rest_cognito_authorizer_claims_with_bracketed_groups(
    adapter_policy: Policy, adapter_event: EventFactory
) -> None:
    calls: list[Principal] = []
    wrapped = protect(policy=adapter_policy, trust_upstream=True)(echo(calls))
    claims = {
        "sub": "u-1",
        "cognito:username": "alice",
        "cognito:groups": "[admin support]",
        "email_verified": "true",
        "token_use": "id",
    }
    response = wrapped(adapter_event("rest_v1", "DELETE", "/orders/42", authorizer={"claims": claims}), None)
    assert response["statusCode"] == 200
    assert calls[0].groups == ("admin", "support")
    assert calls[0].username == "alice"
    assert calls[0].claims["email_verified"] is True


def test_trusted_http_jwt_authorizer_claims_with_comma_groups_and_scopes(
    adapter_policy: Policy, adapter_event: EventFactory
) -> None:
    calls: list[Principal] = []
    wrapped = protect(policy=adapter_policy, trust_upstream=True)(echo(calls))
    jwt = {"claims": {"sub": "u-2", "cognito:groups": "admin,support"}, "scopes": ["orders/read"]}
    response = wrapped(adapter_event("http_v2", "GET", "/orders/42", authorizer={"jwt": jwt}), None)
    assert response["statusCode"] == 200
    assert calls[0].groups == ("admin", "support")
    assert calls[0].scopes == ("orders/read",)


def test_trusted_http_lambda_authorizer_context(
    issuer: LocalIssuer, access_verifier: CognitoVerifier, adapter_policy: Policy, adapter_event: EventFactory
) -> None:
    # The context our own LambdaAuthorizer returns, as API Gateway forwards it to the integration.
    principal = access_verifier.verify(issuer.mint_access_token(groups=["support"], scopes=["orders/read"]))
    context = flatten_context(principal)
    calls: list[Principal] = []
    wrapped = protect(policy=adapter_policy, trust_upstream=True)(echo(calls))
    response = wrapped(adapter_event("http_v2", "GET", "/orders", authorizer={"lambda": context}), None)
    assert response["statusCode"] == 200
    assert calls[0].sub == principal.sub
    assert calls[0].groups == ("support",)
    assert calls[0].scopes == ("orders/read",)


def test_trusted_rest_lambda_authorizer_context(adapter_policy: Policy, adapter_event: EventFactory) -> None:
    calls: list[Principal] = []
    wrapped = protect(policy=adapter_policy, groups=["admin"], trust_upstream=True)(echo(calls))
    authorizer = {"principalId": "u-3", "sub": "u-3", "groups": '["admin"]', "integrationLatency": 3}
    response = wrapped(adapter_event("rest_v1", "POST", "/orders", authorizer=authorizer), None)
    assert response["statusCode"] == 200
    assert calls[0].groups == ("admin",)


def test_trusted_claims_still_go_through_the_policy(
    adapter_policy: Policy, adapter_event: EventFactory
) -> None:
    wrapped = protect(policy=adapter_policy, trust_upstream=True)(echo([]))
    claims = {"sub": "u-4", "cognito:groups": "[support]"}
    response = wrapped(adapter_event("rest_v1", "DELETE", "/orders/42", authorizer={"claims": claims}), None)
    assert_rejected(response, "rest_v1", 403, "Forbidden")


@pytest.mark.parametrize(
    ("fixture", "scopes"),
    [
        ("proxy_rest_v1", ()),
        ("proxy_http_v2", ("orders/read", "orders/write")),
        ("proxy_http_v2_lambda_auth", ("orders/read", "orders/write")),
    ],
)
def test_trusted_upstream_fixture_events_as_aws_sends_them(
    fixture: str,
    scopes: tuple[str, ...],
    adapter_policy: Policy,
    adapter_fixture_event: Callable[[str], dict[str, Any]],
) -> None:
    calls: list[Principal] = []
    wrapped = protect(policy=adapter_policy, groups=["support"], trust_upstream=True)(echo(calls))
    response = wrapped(adapter_fixture_event(fixture), None)
    assert response["statusCode"] == 200
    (principal,) = calls
    assert principal.sub == "7d3c2b1a-9e86-4f61-a0f4-5c8f3a7e9b2d"
    assert principal.username == "alice"
    assert principal.groups == ("admin", "support")
    assert principal.scopes == scopes


def test_fixture_placeholder_token_is_rejected_when_verifying(
    access_verifier: CognitoVerifier,
    adapter_policy: Policy,
    adapter_fixture_event: Callable[[str], dict[str, Any]],
) -> None:
    # The same events, without trust_upstream: the header's "TOKEN" is what gets checked, and fails.
    wrapped = protect(verifier=access_verifier, policy=adapter_policy)(echo([]))
    for fixture in ("proxy_rest_v1", "proxy_http_v2", "alb"):
        response = wrapped(adapter_fixture_event(fixture), None)
        assert response["statusCode"] == 401
        assert header(response, "WWW-Authenticate") == 'Bearer error="invalid_token"'


@pytest.mark.parametrize("kind", KINDS)
def test_trust_upstream_without_authorizer_data_is_401_and_ignores_the_header(
    kind: str, adapter_event: EventFactory, access_token: Callable[..., str]
) -> None:
    calls: list[Principal] = []
    wrapped = protect(trust_upstream=True)(echo(calls))
    # A valid token in the header is not a substitute: nobody upstream verified this request.
    response = wrapped(adapter_event(kind, token=access_token()), None)
    assert_rejected(response, kind, 401, "Unauthorized")
    assert calls == []


def test_trusted_claims_without_sub_are_rejected(adapter_event: EventFactory) -> None:
    wrapped = protect(trust_upstream=True)(echo([]))
    authorizer = {"claims": {"cognito:groups": "[admin]"}}
    assert wrapped(adapter_event("rest_v1", authorizer=authorizer), None)["statusCode"] == 401


# --- response formats -----------------------------------------------------------------------------


def test_alb_multi_value_headers_answer_in_kind(
    access_verifier: CognitoVerifier, adapter_event: EventFactory
) -> None:
    wrapped = protect(verifier=access_verifier)(echo([]))
    response = wrapped(adapter_event("alb", multi_value=True), None)
    assert "headers" not in response
    assert response["multiValueHeaders"]["WWW-Authenticate"] == ["Bearer"]
    assert response["statusDescription"] == "401 Unauthorized"


def test_alb_multi_value_headers_carry_the_token(
    access_verifier: CognitoVerifier, adapter_event: EventFactory, access_token: Callable[..., str]
) -> None:
    wrapped = protect(verifier=access_verifier)(echo([]))
    assert wrapped(adapter_event("alb", token=access_token(), multi_value=True), None)["statusCode"] == 200


def test_event_that_is_no_proxy_event_fails_closed(access_verifier: CognitoVerifier) -> None:
    calls: list[Principal] = []
    wrapped = protect(verifier=access_verifier)(echo(calls))
    response = wrapped({"type": "TOKEN", "authorizationToken": "x"}, None)
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"message": "Internal Server Error"}
    assert calls == []


def test_powertools_data_class_event_is_unwrapped(
    access_verifier: CognitoVerifier, adapter_event: EventFactory, access_token: Callable[..., str]
) -> None:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    calls: list[Principal] = []
    wrapped = protect(verifier=access_verifier)(echo(calls))
    event = APIGatewayProxyEventV2(adapter_event("http_v2", token=access_token(username="pt")))
    assert wrapped(event, None)["statusCode"] == 200
    assert calls[0].username == "pt"


def test_handler_exceptions_are_not_swallowed(
    access_verifier: CognitoVerifier, adapter_event: EventFactory, access_token: Callable[..., str]
) -> None:
    @protect(verifier=access_verifier)
    def boom(event: dict[str, Any], context: object, *, principal: Principal) -> dict[str, Any]:
        raise LookupError("the handler's own bug")

    with pytest.raises(LookupError):
        boom(adapter_event("rest_v1", token=access_token()), None)


# --- decoration-time checks and defaults ----------------------------------------------------------


def test_handler_must_accept_principal(access_verifier: CognitoVerifier) -> None:
    def no_principal(event: dict[str, Any], context: object) -> dict[str, Any]:
        return {}

    with pytest.raises(ConfigError, match="principal"):
        protect(verifier=access_verifier)(no_principal)
    with pytest.raises(ConfigError, match="principal"):
        protect(no_principal)


def test_handler_with_kwargs_accepts_principal(
    access_verifier: CognitoVerifier, adapter_event: EventFactory, access_token: Callable[..., str]
) -> None:
    @protect(verifier=access_verifier)
    # Positional-only: mypy cannot solve Concatenate[E, C, P] against named params plus **kwargs alone.
    def handler(event: dict[str, Any], context: object, /, **kwargs: Any) -> dict[str, Any]:
        return {"statusCode": 200, "body": kwargs["principal"].sub}

    assert handler(adapter_event("rest_v1", token=access_token()), None)["statusCode"] == 200


def test_handler_naming_decision_gets_the_policy_decision(
    access_verifier: CognitoVerifier,
    adapter_policy: Policy,
    adapter_event: EventFactory,
    access_token: Callable[..., str],
) -> None:
    seen: list[Any] = []

    @protect(verifier=access_verifier, policy=adapter_policy)
    def handler(
        event: dict[str, Any], context: object, *, principal: Principal, decision: Any
    ) -> dict[str, Any]:
        seen.append(decision)
        return {"statusCode": 200, "body": ",".join(decision.rules)}

    token = access_token(scopes=["orders/read"])
    response = handler(adapter_event("rest_v1", "GET", "/orders/42", token=token), None)
    assert response == {"statusCode": 200, "body": "read-orders"}
    assert seen[0].allowed
    assert seen[0].path_params == {"orderId": "42"}


def test_handler_without_a_policy_gets_no_decision(
    access_verifier: CognitoVerifier, adapter_event: EventFactory, access_token: Callable[..., str]
) -> None:
    @protect(verifier=access_verifier, scopes=["orders/read"])
    def handler(
        event: dict[str, Any], context: object, *, principal: Principal, decision: Any
    ) -> dict[str, Any]:
        return {"statusCode": 200, "body": repr(decision)}

    token = access_token(scopes=["orders/read"])
    assert handler(adapter_event("rest_v1", token=token), None)["body"] == "None"


def test_kwargs_handler_is_not_handed_a_decision(
    access_verifier: CognitoVerifier,
    adapter_policy: Policy,
    adapter_event: EventFactory,
    access_token: Callable[..., str],
) -> None:
    @protect(verifier=access_verifier, policy=adapter_policy)
    def handler(event: dict[str, Any], context: object, /, **kwargs: Any) -> dict[str, Any]:
        return {"statusCode": 200, "body": ",".join(sorted(kwargs))}

    token = access_token(scopes=["orders/read"])
    response = handler(adapter_event("rest_v1", "GET", "/orders/42", token=token), None)
    assert response["body"] == "principal"


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        protect(groups="admin")  # a str is a Sequence[str] to the type checker, not to protect
    with pytest.raises(ConfigError):
        protect(verifier=object())  # type: ignore[call-overload]
    with pytest.raises(ConfigError):
        configure(policy=object())  # type: ignore[arg-type]


def test_bare_protect_uses_configure_set_after_decoration(
    access_verifier: CognitoVerifier,
    adapter_policy: Policy,
    adapter_event: EventFactory,
    access_token: Callable[..., str],
) -> None:
    calls: list[Principal] = []

    @protect
    def handler(event: dict[str, Any], context: object, *, principal: Principal) -> dict[str, Any]:
        calls.append(principal)
        return {"statusCode": 204}

    configure(verifier=access_verifier, policy=adapter_policy)
    reader = access_token(scopes=["orders/read"])
    assert handler(adapter_event("http_v2", token=reader), None)["statusCode"] == 204
    assert handler(adapter_event("http_v2", "POST", token=reader), None)["statusCode"] == 403
    assert len(calls) == 1


def test_bare_protect_without_any_configuration_fails_closed(
    monkeypatch: pytest.MonkeyPatch, adapter_event: EventFactory
) -> None:
    for name in (handler_module.ENV_USER_POOL_ID, handler_module.ENV_POLICY):
        monkeypatch.delenv(name, raising=False)
    calls: list[Principal] = []
    wrapped = protect(echo(calls))
    response = wrapped(adapter_event("rest_v1", token="whatever"), None)
    assert response["statusCode"] == 500
    assert calls == []


def test_bare_protect_from_environment(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    issuer: LocalIssuer,
    adapter_event: EventFactory,
    adapter_policy_data: dict[str, Any],
) -> None:
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(json.dumps(adapter_policy_data))
    monkeypatch.setenv(handler_module.ENV_USER_POOL_ID, issuer.user_pool_id)
    monkeypatch.setenv(handler_module.ENV_CLIENT_ID, issuer.client_id)
    monkeypatch.setenv(handler_module.ENV_TOKEN_USE, "access")
    # Keys from the environment: the verifier needs no fetch (its default Cognito URL is unreachable).
    monkeypatch.setenv(handler_module.ENV_JWKS, json.dumps(issuer.jwks))
    monkeypatch.setenv(handler_module.ENV_POLICY, str(policy_file))
    calls: list[Principal] = []
    wrapped = protect(echo(calls))
    reader = issuer.mint_access_token(scopes=["orders/read"])
    assert wrapped(adapter_event("rest_v1", "GET", "/orders/42", token=reader), None)["statusCode"] == 200
    assert wrapped(adapter_event("rest_v1", "POST", "/orders", token=reader), None)["statusCode"] == 403
    id_token = issuer.mint_id_token()
    assert wrapped(adapter_event("rest_v1", "GET", "/orders/42", token=id_token), None)["statusCode"] == 401
    assert len(calls) == 1


def test_environment_must_name_client_and_token_use(
    monkeypatch: pytest.MonkeyPatch, issuer: LocalIssuer, adapter_event: EventFactory
) -> None:
    monkeypatch.setenv(handler_module.ENV_USER_POOL_ID, issuer.user_pool_id)
    monkeypatch.delenv(handler_module.ENV_CLIENT_ID, raising=False)
    monkeypatch.delenv(handler_module.ENV_POLICY, raising=False)
    wrapped = protect(echo([]))
    response = wrapped(adapter_event("rest_v1", token=issuer.mint_access_token()), None)
    assert response["statusCode"] == 500
