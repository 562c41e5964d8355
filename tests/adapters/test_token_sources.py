"""Where the authorizer finds the token and what it hands on (issue 11, items 3 and the stage ``*`` case).

- The token is found by header name (configurable, any case) for every REQUEST-style event, never by its
  position in ``identitySource``; on WebSocket ``$connect`` also in ``Sec-WebSocket-Protocol``.
- ``$connect`` is recognised by ``requestContext.eventType`` only.
- A bad token is 401 even when ``methodArn`` names stage ``*`` (the console's test invoke).
- The context carries lists as JSON text and ``@protect(trust_upstream=True)`` reads them back exactly:
  a group named ``reports,admin`` stays one group.

Tokens come from the session's LocalIssuer; events start from the fixtures in ``tests/events/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.adapters.common import flatten_context, subprotocol_token, upstream_principal
from cognito_authz.adapters.handler import protect
from cognito_authz.adapters.lambda_authorizer import EventKind, LambdaAuthorizer, detect_event_kind
from cognito_authz.errors import ConfigError
from cognito_authz.iam import iam_allows
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal
from cognito_authz.testing import LocalIssuer

EVENTS = Path(__file__).resolve().parent.parent / "events"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policies" / "design_example.yaml"
WS_POLICY = {
    "version": 1,
    "rules": [{"id": "chat-members", "routes": ["$connect"], "when": {"groups": ["chat"]}}],
}


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.from_file(EXAMPLE)


@pytest.fixture
def authorizer(issuer: LocalIssuer, policy: Policy) -> LambdaAuthorizer:
    return LambdaAuthorizer(issuer.verifier(token_use="access"), policy)


@pytest.fixture
def reader(issuer: LocalIssuer) -> str:
    return issuer.mint_access_token(username="reader", scopes=["orders/read"])


def allowed(response: dict[str, Any], event: dict[str, Any]) -> bool:
    if "isAuthorized" in response:
        return bool(response["isAuthorized"])
    return iam_allows(response["policyDocument"], event.get("methodArn") or event["routeArn"])


# --- HTTP API payload 2.0: the header by name, whatever identitySource lists first --------------------


def test_http_v2_token_is_the_header_not_identity_source_0(authorizer: LambdaAuthorizer, reader: str) -> None:
    event = fixture("http_v2_request.json")
    # Identity sources [$context.routeKey, $request.header.Authorization]: API Gateway lists their values
    # in that order, so position 0 is the route key, not a token.
    event["identitySource"] = ["GET /orders/{orderId}", f"Bearer {reader}"]
    event["headers"]["authorization"] = f"Bearer {reader}"
    assert allowed(authorizer(event, None), event)


def test_http_v2_identity_source_alone_is_not_a_token(authorizer: LambdaAuthorizer, reader: str) -> None:
    # A token in identitySource but in no header or query parameter is not looked at.
    event = fixture("http_v2_request.json")
    event["identitySource"] = [f"Bearer {reader}"]
    del event["headers"]["authorization"]
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer(event, None)


@pytest.mark.parametrize(
    ("name", "headers_key"),
    [
        ("rest_request.json", "headers"),
        ("http_v1_request.json", "headers"),
        ("http_v2_request.json", "headers"),
        ("websocket_connect.json", "headers"),
    ],
)
def test_custom_header_name_any_case(
    name: str, headers_key: str, issuer: LocalIssuer, policy: Policy, reader: str
) -> None:
    event = fixture(name)
    for key in ("headers", "multiValueHeaders"):
        if isinstance(event.get(key), dict):
            event[key] = {k: v for k, v in event[key].items() if k.lower() != "authorization"}
    event.pop("authorizationToken", None)
    event[headers_key]["X-Api-Token"] = reader  # sent as X-Api-Token, configured in lower case
    if name == "websocket_connect.json":
        authorizer = LambdaAuthorizer(
            issuer.verifier(token_use="access"), Policy.from_dict(WS_POLICY), token_header="x-api-token"
        )
        event[headers_key]["X-Api-Token"] = issuer.mint_access_token(groups=["chat"])
    else:
        authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), policy, token_header="x-api-token")
    assert allowed(authorizer(event, None), event)


def test_http_v1_authorization_token_field_is_not_a_token_source(
    authorizer: LambdaAuthorizer, reader: str
) -> None:
    # Payload 1.0 joins every identity source into authorizationToken/identitySource; only headers count.
    event = fixture("http_v1_request.json")
    event["authorizationToken"] = event["identitySource"] = f"Bearer {reader}"
    event["headers"] = {k: v for k, v in event["headers"].items() if k.lower() != "authorization"}
    event.pop("multiValueHeaders", None)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer(event, None)


def test_two_different_tokens_are_refused(
    authorizer: LambdaAuthorizer, reader: str, issuer: LocalIssuer
) -> None:
    event = fixture("rest_request.json")
    event["headers"]["Authorization"] = f"Bearer {reader}"
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {reader}"]
    event["queryStringParameters"] = {"token": issuer.mint_access_token(groups=["admin"])}
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer(event, None)
    event["queryStringParameters"] = {"token": reader}  # the same token twice is one token
    assert allowed(authorizer(event, None), event)


@pytest.mark.parametrize(
    ("query", "verdict"),
    [
        (None, "allowed"),
        ({}, "allowed"),
        ({"expand": "items"}, "allowed"),
        ({"token": "READER"}, "allowed"),  # the same token twice is one token
        ({"token": "OTHER"}, "unauthorized"),  # two different tokens
        ({"token": "Basic abc"}, "unauthorized"),  # a second source that is not a token
        ({"token": 7}, "allowed"),  # not a string: not a source
    ],
)
def test_http_v2_header_and_query_tokens(
    authorizer: LambdaAuthorizer, reader: str, issuer: LocalIssuer, query: Any, verdict: str
) -> None:
    # The usual HTTP API event (one header map, no multiValueHeaders): a query parameter named like
    # token_query is a second source, compared with the header's token as for REST REQUEST events.
    event = fixture("http_v2_request.json")
    event["headers"]["authorization"] = f"Bearer {reader}"
    other = issuer.mint_access_token(groups=["admin"])
    if query is None:
        event.pop("queryStringParameters", None)
    else:
        values = {"READER": reader, "OTHER": other}
        event["queryStringParameters"] = {k: values.get(v, v) for k, v in query.items()}
    if verdict == "allowed":
        assert allowed(authorizer(event, None), event)
    else:
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorizer(event, None)


@pytest.mark.parametrize("bad", [{"token_header": ""}, {"token_query": "a,b"}, {"token_subprotocol": ""}])
def test_token_source_options_are_checked(bad: dict[str, Any], issuer: LocalIssuer, policy: Policy) -> None:
    with pytest.raises(ConfigError):
        LambdaAuthorizer(issuer.verifier(token_use="access"), policy, **bad)


# --- WebSocket $connect: eventType only; Sec-WebSocket-Protocol ---------------------------------------


def ws_event(protocols: str | None) -> dict[str, Any]:
    event = fixture("websocket_connect.json")
    for key in ("headers", "multiValueHeaders"):
        event[key] = {k: v for k, v in event[key].items() if k.lower() != "authorization"}
    if protocols is not None:
        event["headers"]["Sec-WebSocket-Protocol"] = protocols
        event["multiValueHeaders"]["Sec-WebSocket-Protocol"] = [protocols]
    return event


def test_websocket_token_from_sec_websocket_protocol(issuer: LocalIssuer) -> None:
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), Policy.from_dict(WS_POLICY))
    member = issuer.mint_access_token(groups=["chat"])
    stranger = issuer.mint_access_token(groups=["other"])
    event = ws_event(f"chat.v1, bearer, {member}")
    assert allowed(authorizer(event, None), event)
    event = ws_event(f"bearer, {stranger}")
    assert not allowed(authorizer(event, None), event)


@pytest.mark.parametrize(
    "protocols",
    [None, "chat.v1", "bearer", "chat.v1, bearer", "bearer, {t}, bearer, {t}", "Bearer, {t}"],
)
def test_websocket_without_a_readable_subprotocol_token_is_401(
    protocols: str | None, issuer: LocalIssuer
) -> None:
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), Policy.from_dict(WS_POLICY))
    token = issuer.mint_access_token(groups=["chat"])
    event = ws_event(None if protocols is None else protocols.format(t=token))
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer(event, None)


def test_subprotocol_token_parsing() -> None:
    assert subprotocol_token("bearer, abc.def.ghi", "bearer") == "abc.def.ghi"
    assert subprotocol_token("x,bearer,abc", "bearer") == "abc"
    assert subprotocol_token("bearer,", "bearer") is None
    assert subprotocol_token(None, "bearer") is None


def test_subprotocols_are_read_only_on_connect(authorizer: LambdaAuthorizer, reader: str) -> None:
    # A REST REQUEST event never takes its token from Sec-WebSocket-Protocol.
    event = fixture("rest_request.json")
    for key in ("headers", "multiValueHeaders"):
        event[key] = {k: v for k, v in event[key].items() if k.lower() != "authorization"}
    event["headers"]["Sec-WebSocket-Protocol"] = f"bearer, {reader}"
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer(event, None)


@pytest.mark.parametrize("name", ["rest_request.json", "http_v1_request.json"])
def test_a_path_ending_in_connect_is_not_a_websocket(name: str, issuer: LocalIssuer, reader: str) -> None:
    # A REST resource (or HTTP API route) named /$connect is an ordinary route with a method.
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [{"id": "r", "routes": ["GET /hooks/$connect"], "when": {"scopes": ["orders/read"]}}],
        }
    )
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), policy, policy_scope="request")
    event = fixture(name)
    event["methodArn"] = event["methodArn"].rsplit("/GET/", 1)[0] + "/GET/hooks/$connect"
    event["headers"]["Authorization" if name == "rest_request.json" else "authorization"] = f"Bearer {reader}"
    event.pop("multiValueHeaders", None)
    assert detect_event_kind(event) is not EventKind.WEBSOCKET
    assert allowed(authorizer(event, None), event)


def test_connect_route_key_without_event_type_is_not_a_websocket() -> None:
    event = fixture("websocket_connect.json")
    del event["requestContext"]["eventType"]
    assert detect_event_kind(event) is EventKind.REST_REQUEST


# --- stage "*": the console's test invoke -------------------------------------------------------------


@pytest.mark.parametrize("name", ["rest_token.json", "rest_request.json"])
@pytest.mark.parametrize("token", [None, "not-a-jwt"])
def test_stage_star_with_a_bad_token_is_401(
    name: str, token: str | None, authorizer: LambdaAuthorizer
) -> None:
    event = fixture(name)
    event["methodArn"] = event["methodArn"].replace("/prod/", "/*/")
    value = "" if token is None else f"Bearer {token}"
    if name == "rest_token.json":
        event["authorizationToken"] = value
    else:
        event["headers"]["Authorization"] = value
        event["multiValueHeaders"]["Authorization"] = [value]
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer(event, None)


# --- groups as JSON text, read back exactly ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rest_v1", "http_v2"])
def test_group_with_a_comma_round_trips_as_one_group(
    kind: str, issuer: LocalIssuer, adapter_event: Any
) -> None:
    # The authorizer answers; API Gateway hands its context to the integration (REST: every value as a
    # string, under requestContext.authorizer; HTTP API 2.0: under requestContext.authorizer.lambda).
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [{"id": "any", "routes": ["ANY /{proxy+}"], "when": {"groups": ["reports,admin"]}}],
        }
    )
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), policy, policy_scope="request")
    token = issuer.mint_access_token(groups=["reports,admin"])
    event = fixture("rest_token.json")
    event["authorizationToken"] = f"Bearer {token}"
    answer = authorizer(event, None)
    context = {key: str(value) if kind == "rest_v1" else value for key, value in answer["context"].items()}
    upstream = context if kind == "rest_v1" else {"lambda": context}

    seen: list[Principal] = []

    def handler(event: Any, context: Any, *, principal: Principal) -> dict[str, Any]:
        seen.append(principal)
        return {"statusCode": 200, "body": ""}

    admin_only = protect(groups=["admin"], trust_upstream=True)(handler)
    reports_admin = protect(groups=["reports,admin"], trust_upstream=True)(handler)
    request = adapter_event(kind, "GET", "/orders/42", authorizer=upstream)
    assert admin_only(request, None)["statusCode"] == 403
    assert reports_admin(request, None)["statusCode"] == 200
    assert seen[0].groups == ("reports,admin",)


def test_documented_connect_handler_echoes_the_marker_never_the_token(issuer: LocalIssuer) -> None:
    # docs/snippets/websocket_connect.py, shown on the deployment page, run against the same event the
    # authorizer accepted.
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "docs" / "snippets" / "websocket_connect.py"
    spec = importlib.util.spec_from_file_location("websocket_connect_snippet", path)
    assert spec is not None
    assert spec.loader is not None
    snippet = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(snippet)

    token = issuer.mint_access_token(groups=["chat"])
    event = ws_event(f"chat.v1, bearer, {token}")
    authorizer = LambdaAuthorizer(issuer.verifier(token_use="access"), Policy.from_dict(WS_POLICY))
    assert allowed(authorizer(event, None), event)
    answer = snippet.connect_handler(event, None)
    assert answer == {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "bearer"}}
    assert token not in str(answer)
    assert snippet.connect_handler(ws_event(None), None) == {"statusCode": 200}


# --- property: any group names survive the context, on both ways API Gateway hands it on ---------------

_NAMES = st.lists(st.text(min_size=1, max_size=12), max_size=6, unique=True)


@given(groups=_NAMES, scopes=st.lists(st.from_regex(r"[a-z]{1,5}/[a-z]{1,5}", fullmatch=True), max_size=4))
@settings(max_examples=200, deadline=None)
def test_context_lists_read_back_exactly(groups: list[str], scopes: list[str]) -> None:
    principal = Principal.from_claims({"sub": "s-1", "cognito:groups": groups, "scope": " ".join(scopes)})
    context = flatten_context(principal)
    for authorizer in (
        {key: str(value) for key, value in context.items()},  # REST / HTTP 1.0: every value a string
        {"lambda": dict(context)},  # HTTP API 2.0: the values as returned
    ):
        back = upstream_principal({"requestContext": {"authorizer": authorizer}})
        assert back.groups == principal.groups
        assert back.scopes == principal.scopes
