"""Every fixture in ``tests/events/`` runs through its adapter with its expected answer (issue 11, item 5).

The fixtures are written from AWS's documented shapes (``tests/events/README.md`` names the page each
follows). The placeholder ``TOKEN`` is replaced by a token minted by the session's LocalIssuer for the
persona of the row; fixtures that carry an upstream authorizer's claims run through
``@protect(trust_upstream=True)`` as they are. A fixture missing from ``CORPUS`` fails the first test, so
a new fixture cannot be added without its expected answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import ALBResolver, APIGatewayHttpResolver, APIGatewayRestResolver

from cognito_authz.adapters.handler import protect
from cognito_authz.adapters.lambda_authorizer import AuthorizerUnavailable, LambdaAuthorizer
from cognito_authz.adapters.powertools import CognitoResolverMiddleware
from cognito_authz.iam import iam_allows
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal
from cognito_authz.testing import LocalIssuer

EVENTS = Path(__file__).resolve().parent.parent / "events"
DESIGN_EXAMPLE = Policy.from_file(
    Path(__file__).resolve().parents[2] / "examples" / "policies" / "design_example.yaml"
)
CHAT = Policy.from_dict(
    {"version": 1, "rules": [{"id": "chat-members", "routes": ["$connect"], "when": {"groups": ["chat"]}}]}
)

#: Who calls: the claims of the minted token ("bad" sends a token that does not verify; "as-is" keeps
#: the fixture unchanged, for events that carry an upstream authorizer's verified claims).
PERSONAS: dict[str, dict[str, Any]] = {
    "reader": {"sub": "reader-1", "scopes": ["orders/read"]},
    "acme-admin": {"sub": "admin-1", "groups": ["admin"], "claims": {"custom:tenant_id": "acme"}},
    "globex-admin": {"sub": "admin-2", "groups": ["admin"], "claims": {"custom:tenant_id": "globex"}},
    "owner": {"sub": "7d3c2b1a-9e86-4f61-a0f4-5c8f3a7e9b2d", "scopes": ["profile"]},
    "chat-member": {"sub": "chat-1", "groups": ["chat"]},
    "stranger": {"sub": "other-1", "groups": ["other"]},
}


@dataclass(frozen=True)
class Row:
    adapter: str  # "authorizer", "authorizer-simple", "protect", "protect-upstream", "powertools"
    persona: str
    expect: str  # authorizers: allow / deny / 401 / 500; HTTP adapters: the status code


CORPUS: dict[str, list[Row]] = {
    # REST API Lambda authorizers
    "rest_token.json": [Row("authorizer", "reader", "allow"), Row("authorizer", "bad", "401")],
    "rest_token_test_invoke.json": [Row("authorizer", "bad", "401"), Row("authorizer", "reader", "500")],
    "rest_request.json": [Row("authorizer", "reader", "allow"), Row("authorizer", "stranger", "deny")],
    "rest_request_custom_domain.json": [
        Row("authorizer", "acme-admin", "deny"),
        Row("authorizer", "globex-admin", "allow"),
    ],
    # HTTP API Lambda authorizers, payload 1.0 (IAM responses only) and 2.0 (IAM or simple)
    "http_v1_request.json": [Row("authorizer", "reader", "allow"), Row("authorizer", "bad", "401")],
    "http_v2_request.json": [
        Row("authorizer", "reader", "allow"),
        Row("authorizer-simple", "reader", "allow"),
        Row("authorizer-simple", "stranger", "deny"),
    ],
    "http_v2_request_named_stage.json": [
        Row("authorizer", "owner", "allow"),
        Row("authorizer", "reader", "deny"),
    ],
    "http_v2_request_route_key_identity.json": [
        Row("authorizer", "reader", "allow"),
        Row("authorizer-simple", "reader", "allow"),
    ],
    "http_v2_request_custom_domain.json": [
        Row("authorizer", "acme-admin", "deny"),
        Row("authorizer-simple", "globex-admin", "allow"),
    ],
    # WebSocket $connect
    "websocket_connect.json": [
        Row("authorizer", "chat-member", "allow"),
        Row("authorizer", "stranger", "deny"),
    ],
    "websocket_connect_subprotocol.json": [
        Row("authorizer", "chat-member", "allow"),
        Row("authorizer", "bad", "401"),
    ],
    # Lambda proxy integrations: the handler decorator, and the Powertools resolver middleware
    "proxy_rest_v1.json": [Row("protect-upstream", "as-is", "200"), Row("protect", "bad", "401")],
    "proxy_http_v2.json": [Row("protect-upstream", "as-is", "200"), Row("powertools", "reader", "200")],
    "proxy_http_v2_lambda_auth.json": [Row("protect-upstream", "as-is", "200")],
    "proxy_http_v1.json": [
        Row("protect", "reader", "200"),
        Row("protect", "stranger", "403"),
        Row("powertools", "reader", "200"),
    ],
    "proxy_rest_v1_custom_domain.json": [
        Row("protect", "acme-admin", "403"),
        Row("protect", "globex-admin", "200"),
        Row("powertools", "acme-admin", "403"),
        Row("powertools", "globex-admin", "200"),
    ],
    "proxy_http_v1_custom_domain.json": [
        Row("protect", "acme-admin", "403"),
        Row("protect", "globex-admin", "200"),
        Row("powertools", "acme-admin", "403"),
    ],
    "proxy_http_v2_custom_domain.json": [
        Row("protect", "acme-admin", "403"),
        Row("protect", "globex-admin", "200"),
        Row("powertools", "acme-admin", "403"),
        Row("powertools", "globex-admin", "200"),
    ],
    # ALB Lambda targets
    "alb.json": [Row("protect", "reader", "200"), Row("powertools", "reader", "200")],
    "alb_multi_value.json": [Row("protect", "reader", "200"), Row("protect", "stranger", "403")],
}


def test_every_fixture_has_expected_answers() -> None:
    assert {p.name for p in EVENTS.glob("*.json")} == set(CORPUS)


def fixture_with_token(name: str, persona: str, issuer: LocalIssuer) -> dict[str, Any]:
    text = (EVENTS / name).read_text(encoding="utf-8")
    if persona != "as-is":
        token = "not-a-jwt" if persona == "bad" else issuer.mint_access_token(**PERSONAS[persona])
        # "Bearer TOKEN" in headers, "bearer, TOKEN" in Sec-WebSocket-Protocol ("type": "TOKEN" stays).
        text = re.sub(r"((?:Bearer|bearer,) )TOKEN\b", lambda m: m.group(1) + token, text)
    event: dict[str, Any] = json.loads(text)
    return event


def run_authorizer(event: dict[str, Any], issuer: LocalIssuer, policy: Policy, simple: bool) -> str:
    authorizer = LambdaAuthorizer(
        issuer.verifier(token_use="access"), policy, http_v2_response="simple" if simple else "iam"
    )
    try:
        answer = authorizer(event, None)
    except AuthorizerUnavailable:
        return "500"
    except Exception as exc:  # the one exception API Gateway maps to 401, by its exact text
        return "401" if str(exc) == "Unauthorized" else f"unexpected {exc!r}"
    if "isAuthorized" in answer:
        return "allow" if answer["isAuthorized"] else "deny"
    arn = event.get("methodArn") or event["routeArn"]
    return "allow" if iam_allows(answer["policyDocument"], arn) else "deny"


def run_protect(event: dict[str, Any], issuer: LocalIssuer, upstream: bool) -> str:
    seen: list[Principal] = []

    def handler(event: Any, context: Any, *, principal: Principal) -> dict[str, Any]:
        seen.append(principal)
        return {"statusCode": 200, "body": "{}"}

    verifier = None if upstream else issuer.verifier(token_use="access")
    wrapped = protect(verifier=verifier, policy=DESIGN_EXAMPLE, trust_upstream=upstream)(handler)
    status = wrapped(event, None)["statusCode"]
    assert (status == 200) == bool(seen)  # the handler ran exactly when the answer is 200
    return str(status)


def run_powertools(event: dict[str, Any], issuer: LocalIssuer) -> str:
    """The event through the resolver Powertools offers for its source, with ``strip_prefixes`` for the
    custom domain's mapping, and a catch-all route that records what the resolver routed."""
    resolver: Any
    if "elb" in event["requestContext"]:
        resolver = ALBResolver()
    elif event.get("version") == "2.0":
        resolver = APIGatewayHttpResolver(strip_prefixes=["/v1"])
    else:
        resolver = APIGatewayRestResolver(strip_prefixes=["/v1"])
    resolver.use(middlewares=[CognitoResolverMiddleware(issuer.verifier(token_use="access"), DESIGN_EXAMPLE)])
    routed: list[str] = []

    @resolver.route(".+", method=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    def catch_all() -> dict[str, Any]:
        routed.append(resolver.current_event.path)
        return {}

    status = resolver.resolve(event, None)["statusCode"]
    assert (status == 200) == bool(routed)
    return str(status)


RUNNERS: dict[str, Callable[[dict[str, Any], LocalIssuer, str], str]] = {
    "authorizer": lambda e, i, n: run_authorizer(
        e, i, CHAT if "websocket" in n else DESIGN_EXAMPLE, simple=False
    ),
    "authorizer-simple": lambda e, i, n: run_authorizer(e, i, DESIGN_EXAMPLE, simple=True),
    "protect": lambda e, i, n: run_protect(e, i, upstream=False),
    "protect-upstream": lambda e, i, n: run_protect(e, i, upstream=True),
    "powertools": lambda e, i, n: run_powertools(e, i),
}


@pytest.mark.parametrize(
    ("name", "row"),
    [(name, row) for name, rows in sorted(CORPUS.items()) for row in rows],
    ids=lambda value: value if isinstance(value, str) else f"{value.adapter}-{value.persona}",
)
def test_fixture_gives_its_expected_answer(name: str, row: Row, issuer: LocalIssuer) -> None:
    event = fixture_with_token(name, row.persona, issuer)
    assert RUNNERS[row.adapter](event, issuer, name) == row.expect
