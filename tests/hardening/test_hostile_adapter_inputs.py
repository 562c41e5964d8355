"""Hostile inputs to every adapter, one test per input with its expected outcome written down.

Headers missing, duplicated (same or conflicting values, across ``headers`` and ``multiValueHeaders``),
multi-valued, in any letter case, of the wrong type or huge; ``methodArn``/``routeArn`` with extra
segments, the wrong service or partition, an empty stage, unicode, control characters, over-long; paths
with ``..``, ``.``, ``//``, ``%2F``, double-encoded escapes, unicode, invalid UTF-8, thousands of
characters. For the Lambda authorizer, ``@protect`` and the ASGI and WSGI middleware, each case names
what must happen:

- ``ALLOW``: the request goes through (authorizer: an Allow for the request's own ARN; others: 200);
- ``UNAUTHORIZED``: 401 (authorizer: exactly ``Exception("Unauthorized")``);
- ``DENY``: 403 (authorizer: a document that does not allow the request's ARN, or ``isAuthorized``
  false);
- ``CLOSED``: fail closed on a malformed event (authorizer: ``AuthorizerUnavailable``; others: a 5xx),
  never an Allow.

The caller is ``reader`` (scope ``orders/read``: ``GET /orders/{orderId}`` of the policy-language
example, examples/policies/design_example.yaml) unless a case says otherwise; ``ALLOW`` cases prove the
input itself is harmless, so the neighbouring ``DENY``/``UNAUTHORIZED`` cases fail for the reason they name.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import flask
import pytest

from cognito_authz import CognitoVerifier
from cognito_authz.adapters.asgi import CognitoAuthMiddleware
from cognito_authz.adapters.handler import protect
from cognito_authz.adapters.lambda_authorizer import AuthorizerUnavailable, LambdaAuthorizer
from cognito_authz.adapters.wsgi import CognitoWsgiMiddleware
from cognito_authz.iam import iam_allows
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal
from cognito_authz.testing import LocalIssuer
from tests.hardening.campaign import TALLY

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
POLICY = Policy.from_file(ROOT / "examples" / "policies" / "design_example.yaml")
ALLOW, UNAUTHORIZED, DENY, CLOSED = "allow", "unauthorized", "deny", "closed"
ARN = "arn:aws:execute-api:eu-west-1:123456789012:k7xq2v9d1a/prod/GET/orders/42"


class World:
    def __init__(self, issuer: LocalIssuer) -> None:
        self.verifier: CognitoVerifier = issuer.verifier("access")
        self.reader = issuer.mint_access_token(username="reader", scopes=["orders/read"])
        self.other = issuer.mint_access_token(username="other", scopes=["orders/read"])
        self.abc = issuer.mint_access_token(sub="abc", username="abc", scopes=["profile"])
        self.authorizer = LambdaAuthorizer(self.verifier, POLICY)
        # HTTP API simple responses: the only mode that may decide from the request fields when an
        # event carries no routeArn (an IAM document needs the ARN).
        self.simple_authorizer = LambdaAuthorizer(self.verifier, POLICY, http_v2_response="simple")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with LocalIssuer(serve=False) as issuer:
        yield World(issuer)


def load(name: str, token: str) -> dict[str, Any]:
    text = (EVENTS / f"{name}.json").read_text(encoding="utf-8")
    event: dict[str, Any] = json.loads(text.replace("Bearer TOKEN", f"Bearer {token}"))
    return event


# --- the Lambda authorizer ---------------------------------------------------------------------------------


def authorizer_outcome(
    world: World, event: dict[str, Any], authorizer: LambdaAuthorizer | None = None
) -> str:
    TALLY.add("inputs:hostile.authorizer")
    try:
        response = (authorizer or world.authorizer)(event, None)
    except Exception as exc:
        error: Exception | None = exc
    else:
        error = None
    if type(error) is AuthorizerUnavailable:
        return CLOSED
    if error is not None:
        assert type(error) is Exception, repr(error)
        assert error.args == ("Unauthorized",), repr(error)
        return UNAUTHORIZED
    if "isAuthorized" in response:
        return ALLOW if response["isAuthorized"] is True else DENY
    arn = event.get("methodArn") or event.get("routeArn")
    assert isinstance(arn, str)
    return ALLOW if iam_allows(response["policyDocument"], arn) else DENY


def with_headers(
    world: World, headers: dict[str, Any] | None, multi: dict[str, Any] | None
) -> dict[str, Any]:
    event = load("rest_request", world.reader)
    event.pop("headers")
    event.pop("multiValueHeaders")
    if headers is not None:
        event["headers"] = headers
    if multi is not None:
        event["multiValueHeaders"] = multi
    return event


HEADER_CASES: list[Any] = [
    pytest.param(lambda t: (None, None), UNAUTHORIZED, id="no-headers-at-all"),
    pytest.param(lambda t: ({"Host": "x"}, {"Host": ["x"]}), UNAUTHORIZED, id="authorization-missing"),
    pytest.param(lambda t: ({"authorization": f"Bearer {t}"}, None), ALLOW, id="lower-case-name"),
    pytest.param(lambda t: ({"AUTHORIZATION": f"Bearer {t}"}, None), ALLOW, id="upper-case-name"),
    pytest.param(lambda t: ({"aUtHoRiZaTiOn": f"Bearer {t}"}, None), ALLOW, id="mixed-case-name"),
    pytest.param(
        lambda t: ({"Authorization": f"Bearer {t}"}, {"Authorization": [f"Bearer {t}"]}),
        ALLOW,
        id="same-in-both",
    ),
    pytest.param(
        lambda t: (None, {"authorization": [f"Bearer {t}", f"Bearer {t}"]}), ALLOW, id="multi-same-twice"
    ),
    pytest.param(
        lambda t: (None, {"Authorization": [f"Bearer {t}", "Bearer x.y.z"]}),
        UNAUTHORIZED,
        id="multi-conflicting",
    ),
    pytest.param(
        lambda t: ({"Authorization": f"Bearer {t}"}, {"Authorization": ["Bearer x.y.z"]}),
        UNAUTHORIZED,
        id="headers-and-multi-conflict",
    ),
    pytest.param(
        lambda t: ({"Authorization": f"Bearer {t}", "authorization": "Bearer x.y.z"}, None),
        UNAUTHORIZED,
        id="two-cases-two-values",
    ),
    pytest.param(lambda t: ({"Authorization": 12345}, None), UNAUTHORIZED, id="value-not-a-string"),
    pytest.param(lambda t: ({"Authorization": None}, None), UNAUTHORIZED, id="value-null"),
    pytest.param(lambda t: ({"Authorization": {"Bearer": t}}, None), UNAUTHORIZED, id="value-an-object"),
    pytest.param(lambda t: ({"Authorization": "Basic dXNlcjpwYXNz"}, None), UNAUTHORIZED, id="basic-scheme"),
    pytest.param(lambda t: ({"Authorization": "Bearer"}, None), UNAUTHORIZED, id="scheme-without-token"),
    pytest.param(lambda t: ({"Authorization": "Bearer    "}, None), UNAUTHORIZED, id="scheme-and-spaces"),
    pytest.param(lambda t: ({"Authorization": f"bearer {t}"}, None), ALLOW, id="lower-case-scheme"),
    pytest.param(lambda t: ({"Authorization": f"  Bearer   {t}  "}, None), ALLOW, id="extra-spaces"),
    pytest.param(lambda t: ({"Authorization": f"Bearer {t} extra"}, None), UNAUTHORIZED, id="trailing-word"),
    pytest.param(
        lambda t: ({"Authorization": f"Bearer {t},Bearer {t}"}, None), UNAUTHORIZED, id="comma-joined"
    ),
    pytest.param(
        lambda t: ({"Authorization": "Bearer " + "a" * 100_000}, None), UNAUTHORIZED, id="huge-token"
    ),
    pytest.param(
        lambda t: ({"Authorization": f"Bearer {t}", "User-Agent": "x" * 1_000_000}, None),
        ALLOW,
        id="huge-other",
    ),
    pytest.param(
        lambda t: ({**{f"X-Pad-{i}": "y" for i in range(10_000)}, "Authorization": f"Bearer {t}"}, None),
        ALLOW,
        id="ten-thousand-headers",
    ),
]


@pytest.mark.parametrize(("make", "expected"), HEADER_CASES)
def test_authorizer_headers(world: World, make: Callable[[str], tuple[Any, Any]], expected: str) -> None:
    headers, multi = make(world.reader)
    assert authorizer_outcome(world, with_headers(world, headers, multi)) == expected


PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:k7xq2v9d1a"
ARN_CASES: list[Any] = [
    pytest.param(f"{PREFIX}/prod/GET/orders/42", ALLOW, id="baseline"),
    pytest.param(f"{PREFIX}/prod/GET/orders/42/extra", DENY, id="extra-segment"),
    pytest.param(f"{PREFIX}/prod/GET/orders/42/a/b/c/d", DENY, id="many-extra-segments"),
    pytest.param("arn:aws:lambda:eu-west-1:123456789012:function/orders", CLOSED, id="wrong-service"),
    pytest.param("arn:aws:s3:::bucket/GET/orders/42", CLOSED, id="s3-arn"),
    pytest.param(
        "arn:aws-xx:execute-api:eu-west-1:123456789012:k7xq2v9d1a/prod/GET/orders/42",
        CLOSED,
        id="bad-partition",
    ),
    pytest.param(
        "arn:aws-cn:execute-api:cn-north-1:123456789012:k7xq2v9d1a/prod/GET/orders/42",
        ALLOW,
        id="china-partition",
    ),
    pytest.param(
        "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:k7xq2v9d1a/prod/GET/orders/42",
        ALLOW,
        id="govcloud",
    ),
    pytest.param(f"{PREFIX}//GET/orders/42", CLOSED, id="empty-stage"),
    pytest.param("arn:aws:execute-api:eu-west-1:123456789012:/prod/GET/orders/42", CLOSED, id="empty-api-id"),
    pytest.param(
        "arn:aws:execute-api:eu-west-1:12345678901:k7xq2v9d1a/prod/GET/orders/42", CLOSED, id="short-account"
    ),
    pytest.param(
        "arn:aws:execute-api:EU-WEST-1:123456789012:k7xq2v9d1a/prod/GET/orders/42", CLOSED, id="bad-region"
    ),
    pytest.param(f"{PREFIX}/prod/get/orders/42", CLOSED, id="lower-case-verb"),
    pytest.param(f"{PREFIX}/prod/FOO/orders/42", DENY, id="unknown-verb"),
    pytest.param(f"{PREFIX}/prod/ANY/orders/42", DENY, id="any-as-verb"),
    pytest.param(f"{PREFIX}/prod/GET/orders/é", ALLOW, id="unicode-order-id"),
    pytest.param(f"{PREFIX}/prodé/GET/orders/42", CLOSED, id="unicode-stage"),
    pytest.param(f"{PREFIX}/prod/GET/orders/..", DENY, id="dot-dot-segment"),
    pytest.param(f"{PREFIX}/prod/GET/orders/.", DENY, id="dot-segment"),
    # one trailing slash routes like none (docs/architecture.md, routing fact 3): /orders/ is GET /orders
    pytest.param(f"{PREFIX}/prod/GET/orders/", ALLOW, id="trailing-slash"),
    pytest.param(f"{PREFIX}/prod/GET/orders//", DENY, id="two-trailing-slashes"),
    pytest.param(f"{PREFIX}/prod/GET/orders/42/../../admin", DENY, id="traversal"),
    pytest.param(f"{PREFIX}/prod/GET//orders/42", DENY, id="double-slash"),
    # decide allows it (one segment "a%2Fb" kept encoded): the current request is answered as decide
    # answers it, by its exact ARN; the principal-wide part still refuses escaped paths.
    pytest.param(f"{PREFIX}/prod/GET/orders/a%2Fb", ALLOW, id="encoded-slash-under-a-carve-out"),
    pytest.param(f"{PREFIX}/prod/GET/orders/%2e%2e", DENY, id="encoded-dot-dot"),
    pytest.param(f"{PREFIX}/prod/GET/orders/%zz", DENY, id="broken-escape"),
    pytest.param(f"{PREFIX}/prod/GET/orders/" + "a" * 1400, ALLOW, id="long-order-id"),
    pytest.param(f"{PREFIX}/prod/GET/orders/" + "a" * 1600, CLOSED, id="over-long-arn"),
    pytest.param(f"{PREFIX}/prod/GET/orders/4 2", CLOSED, id="space"),
    pytest.param(f"{PREFIX}/prod/GET/orders/4\x002", CLOSED, id="nul"),
    pytest.param(f"{PREFIX}/prod/$connect", DENY, id="websocket-key-on-a-rest-api"),
    pytest.param(f"{PREFIX}/prod/$connect/x", CLOSED, id="websocket-key-with-a-path"),
    pytest.param(f" {PREFIX}/prod/GET/orders/42", CLOSED, id="leading-space"),
    pytest.param(42, CLOSED, id="not-a-string"),
    pytest.param(None, CLOSED, id="null"),
]


@pytest.mark.parametrize(("arn", "expected"), ARN_CASES)
def test_authorizer_method_arn(world: World, arn: Any, expected: str) -> None:
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {world.reader}", "methodArn": arn}
    if expected == CLOSED:
        assert authorizer_outcome(world, event) == CLOSED
        return
    assert authorizer_outcome(world, event) == expected
    if expected == DENY:
        # With caching on, the same document answers the request's neighbours: never the denied one.
        assert authorizer_outcome(world, copy.deepcopy(event)) == DENY


def test_authorizer_dot_segment_regression_principal_wide(world: World) -> None:
    # Found by this campaign: the principal-wide document (Allow GET/orders/*) covered GET/orders/..,
    # which decide denies; the authorizer answered Allow. Now the document refuses paths the routing
    # model refuses, and still allows the caller's other requests (no lockout for the cache TTL).
    for path in ("..", "."):
        event = {
            "type": "TOKEN",
            "authorizationToken": f"Bearer {world.reader}",
            "methodArn": f"{ARN[:-2]}{path}",
        }
        response = world.authorizer(event, None)
        assert not iam_allows(response["policyDocument"], event["methodArn"]), path
        assert iam_allows(response["policyDocument"], f"{ARN[:-2]}42")


def _default_route(event: dict[str, Any]) -> None:
    """The HTTP API ``$default`` route: no route template, no path parameters."""
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    event.pop("pathParameters", None)


V2_CASES: list[Any] = [
    pytest.param(lambda e: None, ALLOW, id="baseline"),
    pytest.param(
        lambda e: e.__setitem__("routeArn", e["routeArn"].replace("/orders/42", "/orders/..")),
        DENY,
        id="dot-dot",
    ),
    pytest.param(
        lambda e: e.__setitem__("routeArn", e["routeArn"].replace("/orders/42", "/orders//42")),
        DENY,
        id="double-slash",
    ),
    pytest.param(lambda e: e.pop("routeArn"), ALLOW, id="no-route-arn-uses-http-fields"),
    # Without routeArn the path comes from routeKey + pathParameters; on the $default route (no template)
    # from rawPath, with a named stage removed.
    pytest.param(
        lambda e: (e.pop("routeArn"), _default_route(e), e.__setitem__("rawPath", "/orders/42/../../admin")),
        DENY,
        id="raw-path-traversal",
    ),
    pytest.param(
        lambda e: (
            e.pop("routeArn"),
            e.__setitem__("routeKey", "ANY /{proxy+}"),
            e.__setitem__("pathParameters", {"proxy": "orders/42/../../admin"}),
        ),
        DENY,  # rebuilt, it names no route: denied like the raw-path form above
        id="greedy-parameter-traversal",
    ),
    pytest.param(
        lambda e: (e.pop("routeArn"), e["requestContext"].pop("http")),
        CLOSED,
        id="no-route-arn-no-http-fields",
    ),
    pytest.param(
        lambda e: (
            e.pop("routeArn"),
            _default_route(e),
            e["requestContext"].__setitem__("stage", "prod"),
            e.__setitem__("rawPath", "/prod/orders/42"),
        ),
        ALLOW,
        id="named-stage-stripped",
    ),
    pytest.param(
        lambda e: (
            e.pop("routeArn"),
            _default_route(e),
            e["requestContext"].__setitem__("stage", "prod"),
            e.__setitem__("rawPath", "/production/orders/42"),
        ),
        DENY,
        id="stage-prefix-is-not-a-string-prefix",
    ),
    pytest.param(
        lambda e: e.__setitem__("identitySource", []), ALLOW, id="empty-identity-source-uses-header"
    ),
    pytest.param(
        lambda e: (e.__setitem__("identitySource", []), e["headers"].pop("authorization")),
        UNAUTHORIZED,
        id="no-token",
    ),
    # identitySource is never read for the token (its order follows the identity sources, not the
    # token): the authorization header decides, by name.
    pytest.param(
        lambda e: e.__setitem__("identitySource", ["Bearer x.y.z"]), ALLOW, id="bad-identity-source"
    ),
    pytest.param(
        lambda e: e["headers"].__setitem__("authorization", "Bearer x.y.z"), UNAUTHORIZED, id="bad-header"
    ),
    pytest.param(
        lambda e: e.__setitem__("identitySource", "Bearer x"), ALLOW, id="identity-source-not-a-list"
    ),
    # A routeArn that is present but not a string is a broken event: fail closed, never guess.
    pytest.param(lambda e: e.__setitem__("routeArn", 7), CLOSED, id="route-arn-not-a-string"),
]


@pytest.mark.parametrize(("mutate", "expected"), V2_CASES)
def test_authorizer_http_api_v2(
    world: World, mutate: Callable[[dict[str, Any]], object], expected: str
) -> None:
    event = load("http_v2_request", world.reader)
    mutate(event)
    assert authorizer_outcome(world, event, world.simple_authorizer) == expected


def test_authorizer_http_api_v2_iam_without_route_arn_fails_closed(world: World) -> None:
    """The default IAM answer names the ARN; without routeArn there is nothing safe to return."""
    event = load("http_v2_request", world.reader)
    assert authorizer_outcome(world, event) == ALLOW
    event.pop("routeArn")
    assert authorizer_outcome(world, event) == CLOSED


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(lambda e: None, ALLOW, id="baseline"),
        pytest.param(lambda e: e.pop("headers"), ALLOW, id="token-in-multi-value-headers-only"),
        pytest.param(lambda e: (e.pop("headers"), e.pop("multiValueHeaders")), UNAUTHORIZED, id="no-headers"),
        pytest.param(
            lambda e: (
                e.pop("headers"),
                e.pop("multiValueHeaders"),
                e["queryStringParameters"].__setitem__("token", "x"),
            ),
            UNAUTHORIZED,
            id="bad-query-token",
        ),
        pytest.param(
            lambda e: e.__setitem__("methodArn", e["methodArn"] + "/x"), CLOSED, id="route-key-with-path"
        ),
        pytest.param(
            lambda e: e["requestContext"].__setitem__("routeKey", "$default"), ALLOW, id="arn-still-connect"
        ),
    ],
)
def test_authorizer_websocket(
    world: World, mutate: Callable[[dict[str, Any]], object], expected: str
) -> None:
    with LocalIssuer(serve=False) as issuer:
        chat = issuer.mint_access_token(username="chatter", groups=["chat"])
        authorizer = LambdaAuthorizer(
            issuer.verifier("access"),
            Policy.from_dict(
                {
                    "version": 1,
                    "rules": [{"id": "chat", "routes": ["$connect"], "when": {"groups": ["chat"]}}],
                }
            ),
        )
        event = load("websocket_connect", chat)
        event["queryStringParameters"] = dict(event.get("queryStringParameters") or {})
        mutate(event)
        assert authorizer_outcome(world, event, authorizer) == expected


# --- @protect ---------------------------------------------------------------------------------------------


def protect_outcome(world: World, event: dict[str, Any]) -> str:
    ran: list[Principal] = []

    @protect(verifier=world.verifier, policy=POLICY)
    def handler(event: Any, context: Any, *, principal: Principal) -> dict[str, Any]:
        ran.append(principal)
        return {"statusCode": 200, "body": "ok"}

    TALLY.add("inputs:hostile.protect")
    response = handler(event, None)
    status = response["statusCode"]
    assert (status == 200) == bool(ran)
    if status == 401:
        headers = response.get("headers") or {k: v[0] for k, v in response["multiValueHeaders"].items()}
        assert headers["WWW-Authenticate"].startswith("Bearer")
    return {200: ALLOW, 401: UNAUTHORIZED, 403: DENY}.get(status, CLOSED)


def proxy(
    world: World, kind: str, path: str = "/orders/42", method: str = "GET", **headers: Any
) -> dict[str, Any]:
    """A proxy event for ``method path`` on the catch-all route ``ANY /{proxy+}``, as API Gateway would
    send it: ``pathParameters`` hold the path decoded (``None`` where it cannot be: not absolute, or
    not UTF-8), and the adapter decides on the path rebuilt from them."""
    name = {"rest": "proxy_rest_v1", "v2": "proxy_http_v2", "alb": "alb"}[kind]
    event = load(name, world.reader)
    event["requestContext"].pop("authorizer", None)
    if kind == "v2":
        event["rawPath"] = path
        event["requestContext"]["http"]["method"] = method
    else:
        event["path"], event["httpMethod"] = path, method
    if kind != "alb":
        try:
            value = unquote(path[1:], errors="strict") if path.startswith("/") else None
        except UnicodeDecodeError:
            value = None
        template = "/{proxy+}" if path != "/" else "/"
        if kind == "v2":
            event["routeKey"] = event["requestContext"]["routeKey"] = f"ANY {template}"
        else:
            event["resource"] = event["requestContext"]["resourcePath"] = template
        event["pathParameters"] = {"proxy": value} if value is not None and path != "/" else None
    for key, value in headers.items():
        if value is None:
            for block in ("headers", "multiValueHeaders"):
                for name_ in [n for n in (event.get(block) or {}) if n.lower() == key.lower()]:
                    del event[block][name_]
        else:
            event["headers"][key] = value
    return event


PROTECT_CASES: list[Any] = [
    pytest.param("rest", "/orders/42", {}, ALLOW, id="rest-baseline"),
    pytest.param("v2", "/orders/42", {}, ALLOW, id="v2-baseline"),
    pytest.param("alb", "/orders/42", {}, ALLOW, id="alb-baseline"),
    pytest.param("rest", "/orders/42", {"Authorization": None}, UNAUTHORIZED, id="rest-missing"),
    pytest.param("v2", "/orders/42", {"authorization": None}, UNAUTHORIZED, id="v2-missing"),
    pytest.param("alb", "/orders/42", {"authorization": None}, UNAUTHORIZED, id="alb-missing"),
    pytest.param(
        "rest", "/orders/42", {"AUTHORIZATION": "Bearer x.y.z"}, UNAUTHORIZED, id="rest-conflicting-case"
    ),
    pytest.param("v2", "/orders/42", {"Authorization": "Basic eDp5"}, UNAUTHORIZED, id="v2-second-scheme"),
    pytest.param(
        "alb", "/orders/42", {"authorization": "Bearer " + "a" * 50_000}, UNAUTHORIZED, id="alb-huge-token"
    ),
    # A path whose rebuilt form names no route (an empty, "." or ".." segment, over-long): decide denies
    # it (routing fact 5), as the authorizer does, so the handler answers 403 and never runs. One that
    # cannot be rebuilt at all (invalid UTF-8 in a parameter) fails closed with a 5xx.
    pytest.param("rest", "/orders/..", {}, DENY, id="dot-dot"),
    pytest.param("rest", "/orders/42/../../admin", {}, DENY, id="traversal"),
    pytest.param("v2", "/orders//42", {}, DENY, id="double-slash"),
    pytest.param("v2", "/orders/%2e%2e", {}, DENY, id="encoded-dot-dot"),
    pytest.param("alb", "/orders/a%2Fb", {}, ALLOW, id="encoded-slash-is-one-segment"),
    pytest.param("alb", "/orders/a/b", {}, DENY, id="real-slash-is-two-segments"),
    pytest.param("rest", "/orders/é", {}, ALLOW, id="unicode-segment"),
    pytest.param("rest", "/orders/%C3%A9", {}, ALLOW, id="encoded-unicode-segment"),
    pytest.param("rest", "/orders/%FF", {}, CLOSED, id="encoded-invalid-utf8"),
    pytest.param("rest", "/orders/" + "a" * 9000, {}, DENY, id="over-long-path"),
    pytest.param("rest", "orders/42", {}, CLOSED, id="relative-path"),
    pytest.param("v2", "/prod/orders/42", {}, DENY, id="v2-default-stage-keeps-prefix"),
]


@pytest.mark.parametrize(("kind", "path", "headers", "expected"), PROTECT_CASES)
def test_protect(world: World, kind: str, path: str, headers: dict[str, Any], expected: str) -> None:
    assert protect_outcome(world, proxy(world, kind, path, **headers)) == expected


def test_protect_conflicting_multi_value_headers(world: World) -> None:
    event = proxy(world, "rest")
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {world.reader}", "Bearer x.y.z"]
    assert protect_outcome(world, event) == UNAUTHORIZED


def test_protect_alb_multi_value_conflict(world: World) -> None:
    event = proxy(world, "alb")
    headers = event.pop("headers")
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    assert protect_outcome(world, event) == ALLOW
    event["multiValueHeaders"]["authorization"].append(f"Bearer {world.other}")
    assert protect_outcome(world, event) == UNAUTHORIZED


def test_protect_lower_case_method_is_the_same_request(world: World) -> None:
    assert protect_outcome(world, proxy(world, "rest", method="get")) == ALLOW
    assert protect_outcome(world, proxy(world, "rest", method="post")) == DENY


def test_protect_named_stage(world: World) -> None:
    event = proxy(world, "v2", "/orders/42")
    event["requestContext"]["stage"] = "prod"
    event["rawPath"] = "/prod/orders/42"
    assert protect_outcome(world, event) == ALLOW
    root = proxy(world, "v2", "/")
    root["requestContext"]["stage"] = "prod"
    root["rawPath"] = "/prod"
    assert protect_outcome(world, root) == DENY


@pytest.mark.parametrize("broken", ["httpMethod", "resource", "requestContext"])
def test_protect_non_proxy_event_fails_closed(world: World, broken: str) -> None:
    event = proxy(world, "rest")
    event[broken] = None
    assert protect_outcome(world, event) == CLOSED


# --- ASGI ---------------------------------------------------------------------------------------------------


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def asgi_status(
    world: World, path: str, headers: list[tuple[bytes, bytes]], *, method: str = "GET", root_path: str = ""
) -> int:
    middleware = CognitoAuthMiddleware(_echo, verifier=world.verifier, policy=POLICY)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "root_path": root_path, "headers": headers}
    asyncio.run(middleware(scope, receive, send))
    TALLY.add("inputs:hostile.asgi")
    status: int = sent[0]["status"]
    return status


def bearer(token: str) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {token}".encode())


ASGI_CASES: list[Any] = [
    pytest.param("/orders/42", lambda w: [bearer(w.reader)], 200, id="baseline"),
    pytest.param("/orders/42", lambda w: [], 401, id="missing"),
    pytest.param(
        "/orders/42", lambda w: [(b"AUTHORIZATION", f"Bearer {w.reader}".encode())], 200, id="upper-case"
    ),
    pytest.param("/orders/42", lambda w: [bearer(w.reader), bearer(w.reader)], 200, id="duplicate-same"),
    pytest.param(
        "/orders/42", lambda w: [bearer(w.reader), bearer(w.other)], 401, id="duplicate-conflicting"
    ),
    pytest.param(
        "/orders/42", lambda w: [(b"authorization", "Bearer é".encode("latin-1"))], 401, id="latin-1"
    ),
    pytest.param("/orders/42", lambda w: [(b"authorization", b"Bearer " + b"a" * 100_000)], 401, id="huge"),
    pytest.param("/orders/42", lambda w: [(b"authorization", b"Basic eDp5")], 401, id="basic"),
    pytest.param("/orders/42", lambda w: [("authorization", f"Bearer {w.reader}")], 401, id="str-not-bytes"),
    pytest.param("/orders/..", lambda w: [bearer(w.reader)], 403, id="dot-dot"),
    pytest.param("/orders/42/../../admin", lambda w: [bearer(w.reader)], 403, id="traversal"),
    pytest.param("/orders//42", lambda w: [bearer(w.reader)], 403, id="double-slash"),
    pytest.param("/orders/a/b", lambda w: [bearer(w.reader)], 403, id="decoded-slash-is-two-segments"),
    pytest.param("/orders/a%2Fb", lambda w: [bearer(w.reader)], 200, id="literal-percent-2F-is-one-segment"),
    pytest.param("/orders/é", lambda w: [bearer(w.reader)], 200, id="unicode"),
    pytest.param("/orders/" + "a" * 20_000, lambda w: [bearer(w.reader)], 403, id="over-long"),
    pytest.param("/users/abc", lambda w: [bearer(w.abc)], 200, id="own-profile"),
    pytest.param("/users/%61bc", lambda w: [bearer(w.abc)], 403, id="double-decoding-regression"),
]


@pytest.mark.parametrize(("path", "headers", "expected"), ASGI_CASES)
def test_asgi(world: World, path: str, headers: Callable[[World], list[Any]], expected: int) -> None:
    assert asgi_status(world, path, headers(world)) == expected


def test_asgi_root_path_and_method_case(world: World) -> None:
    assert asgi_status(world, "/api/orders/42", [bearer(world.reader)], root_path="/api") == 200
    assert asgi_status(world, "/apiorders/42", [bearer(world.reader)], root_path="/api") == 403
    assert asgi_status(world, "/orders/42", [bearer(world.reader)], method="get") == 200
    assert asgi_status(world, "/orders/42", [bearer(world.reader)], method="DELETE") == 403


def test_asgi_websocket_with_conflicting_headers_is_refused(world: World) -> None:
    middleware = CognitoAuthMiddleware(_echo, verifier=world.verifier, policy=POLICY)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/orders/42",
        "headers": [bearer(world.reader), bearer(world.other)],
    }
    asyncio.run(middleware(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]


# --- WSGI ---------------------------------------------------------------------------------------------------


def wsgi_status(world: World, path_info: str, authorization: Any = "reader", method: str = "GET") -> int:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = CognitoWsgiMiddleware(app, verifier=world.verifier, policy=POLICY)
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path_info, "SCRIPT_NAME": ""}
    if authorization == "reader":
        environ["HTTP_AUTHORIZATION"] = f"Bearer {world.reader}"
    elif authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization
    statuses: list[str] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        statuses.append(status)
        return lambda data: None

    middleware(environ, start_response)
    TALLY.add("inputs:hostile.wsgi")
    return int(statuses[0].split()[0])


def _latin1(text: str) -> str:
    """A path as WSGI carries it: UTF-8 bytes decoded as latin-1."""
    return text.encode("utf-8").decode("latin-1")


WSGI_CASES: list[Any] = [
    pytest.param("/orders/42", "reader", 200, id="baseline"),
    pytest.param("/orders/42", None, 401, id="missing"),
    pytest.param("/orders/42", "Bearer a.b.c,Bearer d.e.f", 401, id="joined-duplicates"),
    pytest.param("/orders/42", "Bearer " + "a" * 100_000, 401, id="huge"),
    pytest.param("/orders/42", "", 401, id="empty"),
    pytest.param("/orders/42", b"Bearer x", 401, id="bytes-value-is-no-readable-token"),
    pytest.param("/orders/..", "reader", 403, id="dot-dot"),
    pytest.param("/orders/42/../../admin", "reader", 403, id="traversal"),
    pytest.param("/orders//42", "reader", 403, id="double-slash"),
    pytest.param("//orders/42", "reader", 200, id="leading-double-slash-as-werkzeug-routes-it"),
    pytest.param(_latin1("/orders/é"), "reader", 200, id="unicode"),
    pytest.param("/orders/\xff", "reader", 200, id="invalid-utf8-replaced-as-werkzeug-does"),
    pytest.param("/orders/" + "a" * 20_000, "reader", 403, id="over-long"),
    pytest.param("/orders/%2e%2e", "reader", 200, id="literal-percent-escapes-are-an-id"),
]


@pytest.mark.parametrize(("path", "authorization", "expected"), WSGI_CASES)
def test_wsgi(world: World, path: str, authorization: Any, expected: int) -> None:
    assert wsgi_status(world, path, authorization) == expected


def test_wsgi_double_decoding_regression(world: World) -> None:
    # Found by this campaign: PATH_INFO is already decoded (the client sent /users/%2561bc); the view
    # gets userId "%61bc", so the policy must not decide it as /users/abc for the caller whose sub is abc.
    def status(path: str) -> int:
        return wsgi_status(world, path, f"Bearer {world.abc}")

    assert status("/users/abc") == 200
    assert status("/users/%61bc") == 403


def test_flask_client_duplicate_headers_and_encoded_paths(world: World) -> None:
    app = flask.Flask("hostile")

    @app.get("/users/<user_id>")
    def user(user_id: str) -> dict[str, str]:
        return {"user_id": user_id}

    @app.get("/orders/<order_id>")
    def order(order_id: str) -> dict[str, str]:
        return {"order_id": order_id}

    app.wsgi_app = CognitoWsgiMiddleware(app.wsgi_app, verifier=world.verifier, policy=POLICY)  # type: ignore[method-assign]
    client = app.test_client()
    own = {"Authorization": f"Bearer {world.abc}"}
    assert client.get("/users/abc", headers=own).status_code == 200
    response = client.get("/users/%2561bc", headers=own)
    assert response.status_code == 403, response.get_json()  # the view would have seen "%61bc"
    both = [("Authorization", f"Bearer {world.reader}"), ("Authorization", f"Bearer {world.other}")]
    assert client.get("/orders/42", headers=both).status_code == 401
    assert client.get("/orders/42", headers={"Authorization": f"Bearer {world.reader}"}).status_code == 200
    assert (
        client.get("/orders/%2e%2e", headers={"Authorization": f"Bearer {world.reader}"}).status_code == 403
    )
