"""LambdaAuthorizer against AWS-shaped events for every flavour: allow, deny (403), bad token (401), keys
down (fail closed), plus the cache-safe document, context shape and token extraction rules.

Tokens come from the session's LocalIssuer; keys-down verifiers point at a closed loopback port.
"""

from __future__ import annotations

import copy
import json
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cognito_authz import CognitoVerifier
from cognito_authz.adapters.lambda_authorizer import (
    AuthorizerUnavailable,
    EventKind,
    LambdaAuthorizer,
    detect_event_kind,
)
from cognito_authz.iam import iam_allows
from cognito_authz.policy import Policy
from cognito_authz.testing import LocalIssuer

EVENTS = Path(__file__).resolve().parent.parent / "events"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policies" / "design_example.yaml"
#: The same rules behind a route for each tenant itself, where one caller cannot get an exact document.
TENANT_ROOT = EXAMPLE.with_name("design_example_tenant_root.yaml")

AUTHORIZER_EVENTS = {
    "rest_token.json": EventKind.REST_TOKEN,
    "rest_request.json": EventKind.REST_REQUEST,
    "http_v1_request.json": EventKind.HTTP_V1,
    "http_v2_request.json": EventKind.HTTP_V2,
    "websocket_connect.json": EventKind.WEBSOCKET,
}

WS_POLICY = {
    "version": 1,
    "rules": [{"id": "chat-members", "routes": ["$connect"], "when": {"groups": ["chat"]}}],
}


def load_event(
    name: str, token: str | None, *, verb: str = "GET", path: str = "/orders/42"
) -> dict[str, Any]:
    """A fixture event with the token substituted and the ARN pointed at ``verb path``."""
    text = (EVENTS / name).read_text(encoding="utf-8")
    if token is not None:
        text = text.replace("Bearer TOKEN", f"Bearer {token}")
    event: dict[str, Any] = json.loads(text)
    for key in ("methodArn", "routeArn"):
        if key in event and not event[key].endswith("$connect"):
            prefix = "/".join(event[key].split("/")[:2])
            event[key] = f"{prefix}/{verb}{path}"
    if token is None:
        for key in ("authorizationToken", "identitySource"):
            event.pop(key, None)
        for key in ("headers", "multiValueHeaders"):
            if isinstance(event.get(key), dict):
                event[key] = {k: v for k, v in event[key].items() if k.lower() != "authorization"}
    return event


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.from_file(EXAMPLE)


@pytest.fixture
def authorizer(issuer: LocalIssuer, policy: Policy) -> LambdaAuthorizer:
    return LambdaAuthorizer(issuer.verifier(token_use="access"), policy)


@pytest.fixture
def reader(issuer: LocalIssuer) -> str:
    return issuer.mint_access_token(username="reader", scopes=["orders/read"])


@pytest.fixture
def nobody(issuer: LocalIssuer) -> str:
    return issuer.mint_access_token(username="nobody", scopes=["profile"])


def is_allowed(response: dict[str, Any], event: dict[str, Any]) -> bool:
    if "isAuthorized" in response:
        return bool(response["isAuthorized"])
    return iam_allows(response["policyDocument"], event.get("methodArn") or event["routeArn"])


# --- detection -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind"), sorted(AUTHORIZER_EVENTS.items()))
def test_detects_every_documented_event_shape(name: str, kind: EventKind) -> None:
    assert detect_event_kind(load_event(name, "t")) is kind


# --- the four outcomes per flavour ----------------------------------------------------------------

HTTP_FLAVOURS = ["rest_token.json", "rest_request.json", "http_v1_request.json", "http_v2_request.json"]


@pytest.mark.parametrize("name", HTTP_FLAVOURS)
def test_allow(name: str, authorizer: LambdaAuthorizer, reader: str) -> None:
    event = load_event(name, reader, verb="GET", path="/orders/42")
    response = authorizer(event, None)
    assert is_allowed(response, event)
    assert response["context"]["rules"] == '["read-orders"]'
    assert response["context"]["scopes"] == '["orders/read"]'


@pytest.mark.parametrize("name", HTTP_FLAVOURS)
def test_policy_deny_is_403_not_401(name: str, authorizer: LambdaAuthorizer, reader: str) -> None:
    event = load_event(name, reader, verb="DELETE", path="/orders/42")
    response = authorizer(event, None)
    assert not is_allowed(response, event)
    assert response["principalId"]
    assert response["policyDocument"]["Statement"]


@pytest.mark.parametrize("name", [*HTTP_FLAVOURS, "websocket_connect.json"])
@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda issuer: "not-a-jwt", id="garbage"),
        pytest.param(lambda issuer: issuer.mint_access_token(lifetime=-10), id="expired"),
        pytest.param(lambda issuer: issuer.mint_id_token(), id="id-token"),
        pytest.param(lambda issuer: issuer.mint_access_token(client_id="otherclient"), id="other-client"),
        pytest.param(lambda issuer: None, id="missing"),
    ],
)
def test_bad_token_is_unauthorized(
    name: str, make_token: Callable[[LocalIssuer], str | None], issuer: LocalIssuer, policy: Policy
) -> None:
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), policy)
    event = load_event(name, make_token(issuer))
    with pytest.raises(Exception, match=r"^Unauthorized$") as info:
        authorizer(event, None)
    assert type(info.value) is Exception  # exactly what API Gateway maps to 401
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


@pytest.mark.parametrize("name", [*HTTP_FLAVOURS, "websocket_connect.json"])
def test_keys_down_fails_closed(name: str, issuer: LocalIssuer, policy: Policy, reader: str) -> None:
    verifier = CognitoVerifier(
        issuer.user_pool_id,
        client_id=issuer.client_id,
        token_use="access",
        jwks_uri=f"http://127.0.0.1:{closed_port()}/jwks.json",
        allow_http=True,
        fetch_timeout=0.5,
    )
    authorizer = LambdaAuthorizer(verifier, policy)
    with pytest.raises(AuthorizerUnavailable):
        authorizer(load_event(name, reader), None)


# --- WebSocket $connect ----------------------------------------------------------------------------


def test_websocket_allow_and_deny(issuer: LocalIssuer) -> None:
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), Policy.from_dict(WS_POLICY))
    member = load_event("websocket_connect.json", issuer.mint_access_token(groups=["chat"]))
    stranger = load_event("websocket_connect.json", issuer.mint_access_token(groups=["other"]))
    allowed = authorizer(member, None)
    denied = authorizer(stranger, None)
    assert iam_allows(allowed["policyDocument"], member["methodArn"])
    assert not iam_allows(denied["policyDocument"], stranger["methodArn"])
    # $connect ARNs carry no verb.
    resources = [r for s in allowed["policyDocument"]["Statement"] for r in s["Resource"]]
    assert all(r.endswith("/production/$connect") for r in resources)


def test_websocket_token_from_query_string(issuer: LocalIssuer) -> None:
    """Browsers cannot set headers on a WebSocket: the token may come in ?token=."""
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), Policy.from_dict(WS_POLICY))
    event = load_event("websocket_connect.json", None)
    event["queryStringParameters"] = {"token": issuer.mint_access_token(groups=["chat"])}
    assert iam_allows(authorizer(event, None)["policyDocument"], event["methodArn"])


# --- cache-safe documents ----------------------------------------------------------------------------


def test_principal_wide_document_covers_other_routes(authorizer: LambdaAuthorizer, reader: str) -> None:
    event = load_event("rest_token.json", reader, verb="GET", path="/orders/42")
    document = authorizer(event, None)["policyDocument"]
    prefix = event["methodArn"].rsplit("/GET/", 1)[0]
    assert iam_allows(document, f"{prefix}/GET/orders")
    assert iam_allows(document, f"{prefix}/GET/orders/7")
    assert not iam_allows(document, f"{prefix}/DELETE/orders/7")
    assert not iam_allows(document, f"{prefix}/GET/orders/7/secret")
    assert not iam_allows(document, f"{prefix}/GET/users/someone-else")


def test_claim_bound_route_resolves_to_the_callers_sub(
    issuer: LocalIssuer, authorizer: LambdaAuthorizer
) -> None:
    token = issuer.mint_access_token(sub="user-123", scopes=["profile"])
    event = load_event("rest_token.json", token, verb="GET", path="/users/user-123")
    document = authorizer(event, None)["policyDocument"]
    prefix = event["methodArn"].rsplit("/GET/", 1)[0]
    assert iam_allows(document, f"{prefix}/GET/users/user-123")
    assert iam_allows(document, f"{prefix}/PUT/users/user-123")
    assert not iam_allows(document, f"{prefix}/GET/users/user-456")


def test_request_scope_option_covers_only_the_method_arn(
    issuer: LocalIssuer, policy: Policy, reader: str
) -> None:
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), policy, policy_scope="request")
    event = load_event("rest_token.json", reader, verb="GET", path="/orders/42")
    document = authorizer(event, None)["policyDocument"]
    assert [r for s in document["Statement"] for r in s["Resource"]] == [event["methodArn"]]


def test_inexpressible_principal_gets_the_exact_part_and_its_own_request(
    issuer: LocalIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    """An admin of tenant acme, behind a route for each tenant itself: every tenant's record is allowed
    but 'every tenant's subtree except acme's' is denied, which IAM globs cannot say. The answer is the
    largest exactly expressible part plus the current request's ARN, logged; never a request-scoped
    Deny that would lock the caller out for the cache TTL."""
    token = issuer.mint_id_token(groups=["admin"], custom_attributes={"tenant_id": "acme"})
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="id"), Policy.from_file(TENANT_ROOT))
    event = load_event("rest_token.json", token, verb="GET", path="/tenants/acme/reports")
    with caplog.at_level(logging.INFO, logger="cognito_authz.iam"):
        response = authorizer(event, None)
    assert iam_allows(response["policyDocument"], event["methodArn"])
    assert "not exact" in caplog.text
    other = load_event("rest_token.json", token, verb="GET", path="/tenants/globex/reports")
    assert not iam_allows(response["policyDocument"], other["methodArn"])
    assert not iam_allows(authorizer(other, None)["policyDocument"], other["methodArn"])


def test_http_v2_answers_iam_documents_by_default(authorizer: LambdaAuthorizer, reader: str) -> None:
    """IAM documents are API Gateway's default and the only HTTP API answer that is safe to cache per
    token when a rule binds a claim to a path parameter."""
    event = load_event("http_v2_request.json", reader)
    response = authorizer(event, None)
    assert "isAuthorized" not in response
    assert iam_allows(response["policyDocument"], event["routeArn"])


@pytest.mark.parametrize(("path", "allowed"), [("/orders/42", True), ("/orders/42/secret", False)])
def test_http_v2_simple_response_option(
    issuer: LocalIssuer, policy: Policy, reader: str, path: str, allowed: bool
) -> None:
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), policy, http_v2_response="simple")
    response = authorizer(load_event("http_v2_request.json", reader, path=path), None)
    assert response["isAuthorized"] is allowed
    assert response["context"]["sub"]


# --- context and extras --------------------------------------------------------------------------


def test_context_is_flat_and_gateway_safe(issuer: LocalIssuer, policy: Policy) -> None:
    token = issuer.mint_id_token(
        groups=["admin", "support"], custom_attributes={"tenant_id": "acme"}, claims={"nested": {"a": 1}}
    )
    authorizer = LambdaAuthorizer(
        issuer.verifier(token_use="id"),
        policy,
        context_claims=["custom:tenant_id", "email_verified", "nested"],
    )
    response = authorizer(load_event("rest_token.json", token, path="/orders"), None)
    context = response["context"]
    assert all(isinstance(v, (str, int, float, bool)) for v in context.values())
    assert context["groups"] == '["admin","support"]'
    assert context["custom:tenant_id"] == "acme"
    assert context["email_verified"] is True
    assert "nested" not in context
    assert response["principalId"] == context["sub"]


def test_usage_identifier_key_from_claim(issuer: LocalIssuer, policy: Policy, reader: str) -> None:
    token = issuer.mint_access_token(scopes=["orders/read"], claims={"custom:api_key": "key-123"})
    authorizer = LambdaAuthorizer(
        issuer.verifier(token_use="access"), policy, usage_identifier_claim="custom:api_key"
    )
    assert authorizer(load_event("rest_token.json", token), None)["usageIdentifierKey"] == "key-123"


def test_named_stage_is_removed_when_http_v2_has_no_route_arn(issuer: LocalIssuer, policy: Policy) -> None:
    token = issuer.mint_access_token(sub="7d3c2b1a-9e86-4f61-a0f4-5c8f3a7e9b2d", scopes=["profile"])
    event = load_event("http_v2_request_named_stage.json", token)
    del event["routeArn"]
    assert event["rawPath"].startswith("/prod/")
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), policy, http_v2_response="simple")
    assert authorizer(event, None)["isAuthorized"] is True


# --- token extraction ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["Bearer ", "bearer ", "BEARER  ", ""])
def test_bearer_prefix_is_tolerated(prefix: str, authorizer: LambdaAuthorizer, reader: str) -> None:
    event = load_event("rest_token.json", reader)
    event["authorizationToken"] = prefix + reader
    assert is_allowed(authorizer(event, None), event)


def test_other_auth_scheme_is_unauthorized(authorizer: LambdaAuthorizer, reader: str) -> None:
    event = load_event("rest_request.json", reader)
    event["headers"]["Authorization"] = "Basic dXNlcjpwYXNz"
    event["multiValueHeaders"]["Authorization"] = ["Basic dXNlcjpwYXNz"]
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer(event, None)


def test_conflicting_duplicate_authorization_headers_are_unauthorized(
    authorizer: LambdaAuthorizer, reader: str, nobody: str
) -> None:
    event = load_event("rest_request.json", reader)
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {reader}", f"Bearer {nobody}"]
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer(event, None)


def test_ambiguous_header_does_not_fall_back_to_the_query_string(
    authorizer: LambdaAuthorizer, reader: str, nobody: str
) -> None:
    event = load_event("rest_request.json", reader)
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {reader}", f"Bearer {nobody}"]
    event["queryStringParameters"] = {"token": reader}
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer(event, None)


def test_non_string_route_arn_fails_closed(issuer: LocalIssuer, policy: Policy, reader: str) -> None:
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), policy, http_v2_response="simple")
    event = load_event("http_v2_request.json", reader)
    event["routeArn"] = ["not", "a", "string"]
    with pytest.raises(AuthorizerUnavailable):
        authorizer(event, None)


def test_custom_token_header(issuer: LocalIssuer, policy: Policy, reader: str) -> None:
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), policy, token_header="X-Api-Token")
    event = load_event("rest_request.json", None)
    event["headers"]["x-api-token"] = reader
    assert is_allowed(authorizer(event, None), event)


def test_powertools_data_class_is_accepted(authorizer: LambdaAuthorizer, reader: str) -> None:
    from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
        APIGatewayAuthorizerTokenEvent,
    )

    event = load_event("rest_token.json", reader)
    assert is_allowed(authorizer(APIGatewayAuthorizerTokenEvent(event), None), event)


# --- never Allow on a broken event; never log the token ------------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda e: e.pop("methodArn"), id="no-arn"),
        pytest.param(lambda e: e.__setitem__("methodArn", "arn:aws:s3:::bucket"), id="wrong-service"),
        pytest.param(lambda e: e.__setitem__("methodArn", 42), id="arn-not-string"),
        pytest.param(lambda e: e.__setitem__("type", "SOMETHING"), id="unknown-type"),
        pytest.param(lambda e: e.clear(), id="empty"),
    ],
)
def test_malformed_events_fail_closed(
    mutate: Callable[[dict[str, Any]], object], authorizer: LambdaAuthorizer, reader: str
) -> None:
    event = load_event("rest_token.json", reader)
    mutate(event)
    with pytest.raises((AuthorizerUnavailable, Exception)) as info:
        authorizer(event, None)
    assert isinstance(info.value, AuthorizerUnavailable) or str(info.value) == "Unauthorized"


def test_non_mapping_event_fails_closed(authorizer: LambdaAuthorizer) -> None:
    with pytest.raises(AuthorizerUnavailable):
        authorizer(["not", "an", "event"], None)


def test_logs_say_why_without_the_token(
    authorizer: LambdaAuthorizer, issuer: LocalIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    token = issuer.mint_access_token(lifetime=-10)
    with (
        caplog.at_level(logging.INFO, logger="cognito_authz"),
        pytest.raises(Exception, match="Unauthorized"),
    ):
        authorizer(load_event("rest_token.json", token), None)
    assert "token_expired" in caplog.text
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text


def test_fixture_events_are_not_mutated(authorizer: LambdaAuthorizer, reader: str) -> None:
    event = load_event("rest_request.json", reader)
    snapshot = copy.deepcopy(event)
    authorizer(event, None)
    assert event == snapshot
