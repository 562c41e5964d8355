"""Done-when of issue 11: through a custom domain with a base path, every adapter gives the same answer as
through the execute-api URL, for the design example's personas on every route.

For each case of ``examples/policies/design_example.cases.yaml`` (persona, method, path) the request is
sent as API Gateway would deliver it, for a REST API, an HTTP API with payload 1.0 and one with payload
2.0, once through ``{api-id}.execute-api...`` (named stage ``prod``, or ``$default``) and once through
``api.example.com`` with base-path (API) mapping ``v1``, to the Lambda authorizer (REQUEST events),
``@protect`` and the Powertools resolver middleware (resolvers built with ``strip_prefixes=["/v1"]``).
HTTP API 2.0 ``rawPath`` is fed in each form reported for custom domains (no prefix, ``/v1``, ``/prod``).
The authorizer gets REST and HTTP API 1.0 REQUEST events (``methodArn``) and HTTP API 2.0 ones
(``routeArn``). The API's routes are a realistic table; which route API Gateway selects is computed
by ``route_for`` below, an independent reading of its documented priority (literal over parameter over
greedy).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver

from cognito_authz.adapters.handler import protect
from cognito_authz.adapters.lambda_authorizer import AuthorizerUnavailable, LambdaAuthorizer
from cognito_authz.adapters.powertools import CognitoResolverMiddleware
from cognito_authz.iam import iam_allows
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal, normalize_string_list
from cognito_authz.testing import LocalIssuer

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
POLICY = Policy.from_file(ROOT / "examples" / "policies" / "design_example.yaml")
CASES: list[dict[str, Any]] = yaml.safe_load(
    (ROOT / "examples" / "policies" / "design_example.cases.yaml").read_text(encoding="utf-8")
)["cases"]

#: The API's resources/routes: every case path reaches one of them.
ROUTES = (
    "/",
    "/orders",
    "/orders/{orderId}",
    "/orders/{orderId}/items",
    "/users/{userId}",
    "/reports/{proxy+}",
    "/tenants/{tenantId}",
    "/tenants/{tenantId}/{proxy+}",
    "/{proxy+}",
)
REST_API, HTTP_API, REGION = "k7xq2v9d1a", "r2d4f6h8j0", "eu-west-1"
CUSTOM_DOMAIN, MAPPING = "api.example.com", "v1"

#: Cases where the decision table states what ``decide`` does with a path that cannot be rebuilt with
#: certainty from an event: API Gateway hands ``pathParameters`` decoded, so an encoded ``/`` inside a
#: one-segment parameter cannot be told apart from a real ``/``, and an empty parameter value (``/orders//``
#: selecting ``/orders/{orderId}`` here) cannot be told apart from a missing one. Every proxy adapter fails
#: closed (500) instead of deciding. Checked: the same answer both ways, never 200. A ``..`` value rebuilds
#: to a path that names no route: decided, and denied (403), as the decision table says.
UNREBUILDABLE = {"/orders//", "/orders/4%2F2"}


def route_for(path: str) -> tuple[str, dict[str, str] | None]:
    """The route API Gateway selects for ``path`` and its ``pathParameters`` (decoded, as delivered)."""
    segments = path.split("/")[1:] if path != "/" else []
    if segments and segments[-1] == "":
        segments = segments[:-1]  # one trailing slash routes like none
    best: tuple[tuple[int, ...], str, dict[str, str]] | None = None
    for template in ROUTES:
        parts = template.split("/")[1:] if template != "/" else []
        params: dict[str, str] = {}
        rank: list[int] = []
        matched = True
        for index, part in enumerate(parts):
            if part.endswith("+}"):
                rest = segments[index:]
                matched = bool(rest)
                params[part[1:-2]] = unquote("/".join(rest))
                rank.append(0)
                break
            if index >= len(segments):
                matched = False
                break
            if part.startswith("{"):
                params[part[1:-1]] = unquote(segments[index])
                rank.append(1)
            elif part == segments[index]:
                rank.append(2)
            else:
                matched = False
                break
        else:
            matched = matched and len(parts) == len(segments)
        if matched and (best is None or tuple(rank) > best[0]):
            best = (tuple(rank), template, params)
    assert best is not None, path
    return best[1], best[2] or None


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


def host_fields(custom: bool, api_id: str) -> dict[str, str]:
    if custom:
        return {"domainName": CUSTOM_DOMAIN, "domainPrefix": "api"}
    return {"domainName": f"{api_id}.execute-api.{REGION}.amazonaws.com", "domainPrefix": api_id}


def rest_proxy(method: str, path: str, token: str, custom: bool) -> dict[str, Any]:
    template, params = route_for(path)
    event = load("proxy_rest_v1.json")
    event["requestContext"].pop("authorizer")
    seen = f"/{MAPPING}{path}" if custom else path  # REST path has no stage, but keeps the mapping
    event.update(httpMethod=method, path=seen, resource=template, pathParameters=params)
    event["requestContext"].update(
        httpMethod=method,
        resourcePath=template,
        path=f"/{MAPPING}{path}" if custom else f"/prod{path}",
        stage="prod",
        **host_fields(custom, REST_API),
    )
    event["headers"]["Authorization"] = f"Bearer {token}"
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
    return event


def http_v1_proxy(method: str, path: str, token: str, custom: bool) -> dict[str, Any]:
    template, params = route_for(path)
    event = load("proxy_http_v1.json")
    seen = f"/{MAPPING}{path}" if custom else path  # 1.0 path carries the API mapping ($default: no stage)
    event.update(httpMethod=method, path=seen, resource=template, pathParameters=params)
    event["requestContext"].update(
        httpMethod=method,
        path=seen,
        resourcePath=template,
        routeKey=f"ANY {template}",
        resourceId=f"ANY {template}",
        **host_fields(custom, HTTP_API),
    )
    event["headers"]["authorization"] = f"Bearer {token}"
    event["multiValueHeaders"]["authorization"] = [f"Bearer {token}"]
    return event


def http_v2_proxy(method: str, path: str, token: str, raw_prefix: str, custom: bool) -> dict[str, Any]:
    template, params = route_for(path)
    event = load("proxy_http_v2.json")
    event["requestContext"].pop("authorizer")
    event["routeKey"] = event["requestContext"]["routeKey"] = f"ANY {template}"
    event["rawPath"] = raw_prefix + path
    event["requestContext"]["http"].update(method=method, path=raw_prefix + path)
    event["requestContext"].update(stage="prod", **host_fields(custom, HTTP_API))
    event["pathParameters"] = params
    event["headers"]["authorization"] = f"Bearer {token}"
    return event


def rest_request_authorizer(method: str, path: str, token: str, custom: bool) -> dict[str, Any]:
    proxy = rest_proxy(method, path, token, custom)
    event = load("rest_request.json")
    for key in ("resource", "path", "httpMethod", "headers", "multiValueHeaders", "pathParameters"):
        event[key] = copy.deepcopy(proxy[key])
    event["requestContext"].update(copy.deepcopy(proxy["requestContext"]))
    event["methodArn"] = f"arn:aws:execute-api:{REGION}:123456789012:{REST_API}/prod/{method}{path}"
    return event


def http_v1_request_authorizer(method: str, path: str, token: str, custom: bool) -> dict[str, Any]:
    proxy = http_v1_proxy(method, path, token, custom)
    event = load("http_v1_request.json")
    for key in ("resource", "path", "httpMethod", "headers", "pathParameters"):
        event[key] = copy.deepcopy(proxy[key])
    event["requestContext"].update(copy.deepcopy(proxy["requestContext"]))
    event["authorizationToken"] = event["identitySource"] = f"Bearer {token}"
    event["methodArn"] = f"arn:aws:execute-api:{REGION}:123456789012:{HTTP_API}/$default/{method}{path}"
    return event


def http_v2_request_authorizer(method: str, path: str, token: str, custom: bool) -> dict[str, Any]:
    proxy = http_v2_proxy(method, path, token, "" if custom else "/prod", custom)
    event = load("http_v2_request.json")
    for key in ("routeKey", "rawPath", "headers", "pathParameters"):
        event[key] = copy.deepcopy(proxy[key])
    event["requestContext"].update(copy.deepcopy(proxy["requestContext"]))
    event["identitySource"] = [f"Bearer {token}"]
    event["routeArn"] = f"arn:aws:execute-api:{REGION}:123456789012:{HTTP_API}/prod/{method}{path}"
    return event


# --- running each adapter ---------------------------------------------------------------------------


def via_protect(event: dict[str, Any], issuer: LocalIssuer) -> str:
    ran: list[Principal] = []

    def handler(event: Any, context: Any, *, principal: Principal) -> dict[str, Any]:
        ran.append(principal)
        return {"statusCode": 200, "body": "{}"}

    status = protect(verifier=issuer.verifier(token_use="access"), policy=POLICY)(handler)(event, None)
    assert (status["statusCode"] == 200) == bool(ran)
    return str(status["statusCode"])


def via_powertools(event: dict[str, Any], issuer: LocalIssuer) -> str:
    resolver: Any = (
        APIGatewayHttpResolver(strip_prefixes=[f"/{MAPPING}"])
        if event.get("version") == "2.0"
        else APIGatewayRestResolver(strip_prefixes=[f"/{MAPPING}"])
    )
    resolver.use(middlewares=[CognitoResolverMiddleware(issuer.verifier(token_use="access"), POLICY)])
    ran: list[str] = []
    verbs = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    @resolver.route("/", method=verbs)
    @resolver.route(".+", method=verbs)
    def anything() -> dict[str, Any]:
        ran.append(resolver.current_event.path)
        return {}

    status = resolver.resolve(event, None)["statusCode"]
    assert (status == 200) == bool(ran)
    return str(status)


def via_authorizer(event: dict[str, Any], issuer: LocalIssuer) -> str:
    try:
        answer = LambdaAuthorizer(issuer.verifier(token_use="access"), POLICY)(event, None)
    except AuthorizerUnavailable:
        return "500"
    except Exception as exc:  # API Gateway's 401, by its exact text
        return "401" if str(exc) == "Unauthorized" else repr(exc)
    arn = event.get("methodArn") or event["routeArn"]
    return "200" if iam_allows(answer["policyDocument"], arn) else "403"


@dataclass(frozen=True)
class Channel:
    """One adapter on one API flavour: how to build its event and run it."""

    name: str
    build: Callable[[str, str, str, bool], dict[str, Any]]
    run: Callable[[dict[str, Any], LocalIssuer], str]


CHANNELS = [
    Channel("rest-authorizer", rest_request_authorizer, via_authorizer),
    Channel("rest-protect", rest_proxy, via_protect),
    Channel("rest-powertools", rest_proxy, via_powertools),
    Channel("http1-authorizer", http_v1_request_authorizer, via_authorizer),
    Channel("http2-authorizer", http_v2_request_authorizer, via_authorizer),
    Channel("http1-protect", http_v1_proxy, via_protect),
    Channel("http1-powertools", http_v1_proxy, via_powertools),
]


def mint(issuer: LocalIssuer, who: dict[str, Any]) -> str:
    groups = who.get("groups", normalize_string_list(who.get("cognito:groups")))
    scopes = who.get("scopes", normalize_string_list(who.get("scope"), separators=""))
    extra = {k: v for k, v in who.items() if k not in ("sub", "groups", "cognito:groups", "scopes", "scope")}
    return issuer.mint_access_token(sub=who["sub"], groups=groups, scopes=scopes, claims=extra)


def expected(case: dict[str, Any], channel: str) -> set[str]:
    """The answers that are right for ``case`` on ``channel``."""
    want = "200" if case["expect"] == "allow" else "403"
    if case["path"] in UNREBUILDABLE:
        if not channel.endswith("authorizer"):
            return {"500"}
        # The authorizer decides on methodArn, which needs no rebuilding; whether an IAM document can
        # name a percent-escaped path exactly is the IAM builder's business: a deny there fails closed.
        return {want, "403"}
    return {want}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
@pytest.mark.parametrize("channel", CHANNELS, ids=[c.name for c in CHANNELS])
def test_custom_domain_answers_like_execute_api(
    case: dict[str, Any], channel: Channel, issuer: LocalIssuer
) -> None:
    token = mint(issuer, case["principal"])
    method, path = case["method"], case["path"]
    direct = channel.run(channel.build(method, path, token, False), issuer)
    mapped = channel.run(channel.build(method, path, token, True), issuer)
    assert mapped == direct
    assert direct in expected(case, channel.name)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
@pytest.mark.parametrize("adapter", [via_protect, via_powertools], ids=["protect", "powertools"])
def test_http_api_2_custom_domain_answers_like_execute_api(
    case: dict[str, Any], adapter: Callable[[dict[str, Any], LocalIssuer], str], issuer: LocalIssuer
) -> None:
    token = mint(issuer, case["principal"])
    method, path = case["method"], case["path"]
    direct = adapter(http_v2_proxy(method, path, token, "/prod", custom=False), issuer)
    # What rawPath carries behind a custom domain is reported three ways: the answer must not depend on it.
    for prefix in ("", f"/{MAPPING}", "/prod"):
        assert adapter(http_v2_proxy(method, path, token, prefix, custom=True), issuer) == direct
    assert direct in expected(case, "http2")


def test_the_tenant_guard_holds_through_the_custom_domain(issuer: LocalIssuer) -> None:
    # The report: 403 through execute-api, 200 through the custom domain. Now 403 both ways.
    token = mint(issuer, {"sub": "admin-1", "groups": ["admin"], "custom:tenant_id": "acme"})
    for channel in CHANNELS:
        for custom in (False, True):
            event = channel.build("GET", "/tenants/globex/projects", token, custom)
            assert channel.run(event, issuer) == "403", (channel.name, custom)
