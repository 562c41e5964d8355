"""Fuzzing the Lambda entry points with damaged API Gateway events: never Allow what the policy denies.

For each authorizer event type (REST TOKEN, REST REQUEST, HTTP API 1.0, HTTP API 2.0 with simple and IAM
responses, WebSocket ``$connect``) and each proxy event type behind ``@protect`` (REST v1, HTTP API 2.0,
ALB, ALB with multi-value headers), hypothesis removes, retypes, oversizes and edits fields anywhere in
the AWS-shaped fixtures of ``tests/events`` (headers, ARNs, paths, the token itself). Invariants:

1. ``LambdaAuthorizer`` answers with a response dict, or raises exactly ``Exception("Unauthorized")`` or
   ``AuthorizerUnavailable``; nothing else escapes, and no response or error message carries the token.
2. When a response allows the request (``isAuthorized``, or ``iam_allows`` on the event's own
   ``methodArn``/``routeArn``), the event still carries the caller's unaltered token and
   ``Policy.decide`` allows that request for that caller, the request read here from the raw event by an
   independent reading of the ARN or of the route template and path parameters (the request API Gateway
   routed, whatever ``path``/``rawPath`` say). So a damaged event never turns into an Allow, and
   a token-less or token-damaged event never into any answer but 401.
3. ``@protect`` never raises; it answers 401/403/500/503 in the event's format or runs the handler, and
   it runs the handler only under the same condition as 2.

Two callers: ``reader`` (allowed ``GET /orders/42``) and ``nobody`` (allowed only their own profile).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cognito_authz.adapters.handler import protect
from cognito_authz.adapters.lambda_authorizer import AuthorizerUnavailable, LambdaAuthorizer
from cognito_authz.iam import iam_allows
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal
from cognito_authz.testing import LocalIssuer
from tests.hardening.campaign import TALLY, fuzz_settings, scaled

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
POLICY = Policy.from_file(ROOT / "examples" / "policies" / "design_example.yaml")
NOW = 1_700_000_000

AUTHORIZER_EVENTS = ("rest_token", "rest_request", "http_v1_request", "http_v2_request", "websocket_connect")
PROXY_EVENTS = (
    "proxy_rest_v1",
    "proxy_rest_v1_custom_domain",
    "proxy_http_v1",
    "proxy_http_v1_custom_domain",
    "proxy_http_v2",
    "proxy_http_v2_custom_domain",
    "alb",
    "alb_multi_value",
)


class Callers:
    def __init__(self, issuer: LocalIssuer) -> None:
        self.issuer = issuer
        self.verifier = issuer.verifier("access", clock=lambda: NOW + 10)
        self.tokens = {
            "reader": issuer.mint_access_token(now=NOW, username="reader", scopes=["orders/read"]),
            "nobody": issuer.mint_access_token(now=NOW, username="nobody", scopes=["profile"]),
            "chatter": issuer.mint_access_token(now=NOW, username="chatter", groups=["chat"]),
        }
        self.principals = {name: self.verifier.verify(token) for name, token in self.tokens.items()}
        self.by_sub = {p.sub: name for name, p in self.principals.items()}


@pytest.fixture(scope="module")
def callers() -> Iterator[Callers]:
    with LocalIssuer(serve=False) as issuer:
        yield Callers(issuer)


WS_POLICY = Policy.from_dict(
    {
        "version": 1,
        "rules": [
            {"id": "chat", "routes": ["$connect"], "when": {"groups": ["chat"]}},
            {"id": "read-orders", "routes": ["GET /orders/{orderId}"], "when": {"scopes": ["orders/read"]}},
        ],
    }
)


def base_event(name: str, token: str) -> dict[str, Any]:
    if name == "alb_multi_value":
        alb = base_event("alb", token)
        alb["multiValueHeaders"] = {key: [value] for key, value in alb.pop("headers").items()}
        alb["multiValueQueryStringParameters"] = {k: [v] for k, v in alb.pop("queryStringParameters").items()}
        return alb
    text = (EVENTS / f"{name}.json").read_text(encoding="utf-8")
    event: dict[str, Any] = json.loads(text.replace("Bearer TOKEN", f"Bearer {token}"))
    context = event.get("requestContext")
    if isinstance(context, dict):
        context.pop("authorizer", None)  # @protect verifies the header itself here
    return event


# --- an independent reading of the request an event describes ----------------------------------------


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def carries(event: Any, token: str) -> bool:
    return any(token in text for text in _strings(event))


def arn_of(event: dict[str, Any]) -> str | None:
    for key in ("routeArn", "methodArn"):
        value = event.get(key)
        if isinstance(value, str):
            return value
    return None


_ARN = re.compile(r"arn:aws(?:-cn|-us-gov)?:execute-api:[^:]+:\d{12}:[A-Za-z0-9]+/[^/]+/(?P<rest>.*)")


def request_from_arn(arn: str) -> tuple[str, str] | None:
    matched = _ARN.fullmatch(arn)
    if matched is None:
        return None
    rest = matched.group("rest")
    if "/" not in rest:
        return "GET", rest  # a WebSocket route key
    verb, _, path = rest.partition("/")
    return verb, "/" + path


_TEMPLATE_PARAM = re.compile(r"\{([^{}+]+)(\+?)\}")


def _rebuild(template: str, params: Any) -> str | None:
    """The API-relative path API Gateway routed: ``template`` with each ``{name}`` replaced by its
    (decoded) value, escaped again. Written apart from ``routing.api_relative_path`` on purpose."""
    if template == "/":
        return "/"
    parts: list[str] = []
    for segment in template.split("/")[1:]:
        matched = _TEMPLATE_PARAM.fullmatch(segment)
        if matched is None:
            parts.append(segment)
            continue
        value = params.get(matched.group(1)) if isinstance(params, dict) else None
        if not isinstance(value, str) or not value:
            return None
        pieces = value.split("/")
        if (not matched.group(2) and len(pieces) != 1) or any(p in ("", ".", "..") for p in pieces):
            return None
        parts.extend(quote(piece, safe="") for piece in pieces)
    return "/" + "/".join(parts)


def _template(event: dict[str, Any], context: dict[str, Any]) -> Any:
    if "elb" in context:
        return None
    if event.get("version") == "2.0":
        key = event.get("routeKey")
    elif event.get("version") == "1.0":
        key = context.get("routeKey", event.get("resource"))
    else:
        return event.get("resource", "missing")
    return key.split(" ", 1)[1] if isinstance(key, str) and " " in key else key


def request_from_http_fields(event: dict[str, Any]) -> tuple[str, str] | None:
    """(method, path) as API Gateway routed the request: the path rebuilt from the route template and
    ``pathParameters`` (they never carry a stage or a custom domain's mapping), else, for the HTTP API
    ``$default`` route and ALB, the raw path with a named stage removed."""
    context = event.get("requestContext")
    context = context if isinstance(context, dict) else {}
    if event.get("version") == "2.0":
        http = context.get("http")
        method = http.get("method") if isinstance(http, dict) else None
        path = event.get("rawPath")
        if not isinstance(path, str) and isinstance(http, dict):
            path = http.get("path")
        stage = context.get("stage")
        if isinstance(path, str) and isinstance(stage, str) and stage not in ("", "$default"):
            if path == f"/{stage}":
                path = "/"
            elif path.startswith(f"/{stage}/"):
                path = path[len(stage) + 1 :]
    else:
        method, path = event.get("httpMethod"), event.get("path")
    template = _template(event, context)
    if isinstance(template, str) and template.startswith("/"):
        path = _rebuild(template, event.get("pathParameters"))
    elif template is not None and template != "$default":
        return None  # a REST event without a resource (or a broken route key) names no route
    if isinstance(method, str) and isinstance(path, str):
        return method.upper(), path
    return None


def decide_allows(principal: Principal, request: tuple[str, str] | None, policy: Policy) -> bool:
    return request is not None and policy.decide(principal, *request).allowed


# --- mutations ------------------------------------------------------------------------------------------

_NEW_VALUES: list[Any] = [
    None, 0, -1, True, 1.5, "", "x", [], {}, ["Bearer x"], {"a": "b"}, [None], [[["deep"]]], "Bearer ",
    "Bearer a.b.c", "AUTHORIZATION", "$connect", "/orders/42", "GET", "arn:aws:execute-api",
]  # fmt: skip
MAX_STRING = 100_000  # ten times what API Gateway lets through in one header
MAX_ITEMS = 2_000
_SEGMENTS = [
    "..",
    ".",
    "",
    "%2e%2e",
    "%2E",
    "%2F",
    "42/..",
    "42/.",
    "42/",
    "42//x",
    "..%2F",
    "%zz",
    "é",
    "%C3%A9",
    "42/extra",
    "*",
    "42?x=1",
    "42#f",
    "\u0000",
    "42/../../admin",
]
_EDITS = ["/", "//", "..", "%2F", "%", ".", "*", "?", "é", "\x00", " ", ":", "$", "ANY", "\ud800", "{x}"]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


MUTATION_KINDS = (
    "remove", "retype", "oversize", "edit", "segment", "swap-token", "case", "duplicate-header", "truncate",
)  # fmt: skip


@st.composite
def damaged(draw: st.DrawFn, event: dict[str, Any], tokens: dict[str, str]) -> dict[str, Any]:
    event = copy.deepcopy(event)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(event) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = event
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        value = parent[key]
        kind = draw(st.sampled_from(MUTATION_KINDS))
        TALLY.add(f"inputs:events.mutation.{kind}")
        if kind == "remove":
            del parent[key]
        elif kind == "retype":
            parent[key] = copy.deepcopy(draw(st.sampled_from(_NEW_VALUES)))
        elif kind == "oversize":
            # Big enough to matter (100 KB values, thousands of entries), bounded across repeats.
            if isinstance(value, str):
                factor = draw(st.sampled_from([2, 64, 4096]))
                parent[key] = ((value or "x") * factor)[:MAX_STRING]
            elif isinstance(value, list):
                parent[key] = ((value or ["x"]) * 500)[:MAX_ITEMS]
            elif isinstance(value, dict):
                value.update(
                    {f"x-pad-{i}": "y" * 100 for i in range(min(500, max(0, MAX_ITEMS - len(value))))}
                )
            else:
                parent[key] = "9" * 100_000
        elif kind == "edit" and isinstance(value, str):
            where = draw(st.integers(0, len(value)))
            parent[key] = (
                value[:where] + draw(st.sampled_from(_EDITS)) + value[where + draw(st.integers(0, 2)) :]
            )
        elif kind == "segment" and isinstance(value, str) and "/" in value:
            # A path or ARN whose last segment becomes something no route should match as is.
            head, _, _ = value.rpartition("/")
            parent[key] = head + "/" + draw(st.sampled_from(_SEGMENTS))
        elif kind == "swap-token" and isinstance(value, str):
            # Another caller's token in this place, or this one's with a flipped character.
            other = draw(st.sampled_from(sorted(tokens)))
            for token in tokens.values():
                if token in value:
                    replacement = tokens[other] if draw(st.booleans()) else token[:-3] + "AAA"
                    parent[key] = value.replace(token, replacement)
                    break
        elif kind == "case" and isinstance(parent, dict) and isinstance(key, str):
            parent[key.swapcase()] = parent.pop(key)
        elif kind == "duplicate-header" and isinstance(parent, dict):
            for headers in ("headers", "multiValueHeaders"):
                if isinstance(event.get(headers), dict):
                    garbage = draw(st.sampled_from(["Bearer x.y.z", "Basic dXNlcg==", tokens["nobody"]]))
                    name = draw(st.sampled_from(["authorization", "AUTHORIZATION", "Authorization "]))
                    event[headers][name] = [garbage] if headers == "multiValueHeaders" else garbage
        elif kind == "truncate" and isinstance(value, str):
            parent[key] = value[: draw(st.integers(0, max(0, len(value) - 1)))]
    return event


# --- 1 + 2: the Lambda authorizer ------------------------------------------------------------------------


def check_authorizer_answer(
    callers: Callers, authorizer: LambdaAuthorizer, event: dict[str, Any], policy: Policy, label: str
) -> None:
    try:
        response = authorizer(event, None)
    except Exception as exc:
        error: Exception | None = exc
    else:
        error = None
    if error is not None:
        assert not any(token in str(error) for token in callers.tokens.values())
        if type(error) is AuthorizerUnavailable:
            TALLY.add("outcomes:authorizer.unavailable")
            return
        assert type(error) is Exception, repr(error)
        assert error.args == ("Unauthorized",), repr(error)
        TALLY.add("outcomes:authorizer.unauthorized")
        return
    text = json.dumps(response, default=str)
    assert not any(token in text for token in callers.tokens.values()), "the token leaked into the response"
    sub = response.get("principalId") or response["context"]["sub"]
    name = callers.by_sub[sub]
    principal, token = callers.principals[name], callers.tokens[name]
    if "isAuthorized" in response:
        allowed = response["isAuthorized"] is True
        assert isinstance(response["isAuthorized"], bool)
        arn = arn_of(event)
        request = request_from_arn(arn) if arn is not None else request_from_http_fields(event)
    else:
        arn = arn_of(event)
        assert arn is not None, "an IAM answer to an event without an ARN"
        allowed = iam_allows(response["policyDocument"], arn)
        request = request_from_arn(arn)
    for value in response.get("context", {}).values():
        assert isinstance(value, str | int | float | bool), response["context"]
    TALLY.add(f"outcomes:authorizer.{'allow' if allowed else 'deny'}")
    if allowed:
        assert carries(event, token), f"{label}: Allow without the caller's token in the event"
        assert decide_allows(principal, request, policy), f"{label}: Allow for {request} that decide denies"


@pytest.fixture(scope="module")
def authorizers(callers: Callers) -> dict[str, LambdaAuthorizer]:
    return {
        "iam": LambdaAuthorizer(callers.verifier, POLICY, http_v2_response="iam"),
        "simple": LambdaAuthorizer(callers.verifier, POLICY, http_v2_response="simple"),
        "websocket": LambdaAuthorizer(callers.verifier, WS_POLICY),
    }


@pytest.mark.parametrize("name", AUTHORIZER_EVENTS)
def test_damaged_authorizer_events_never_allow_what_decide_denies(
    callers: Callers, authorizers: dict[str, LambdaAuthorizer], name: str
) -> None:
    policy = WS_POLICY if name == "websocket_connect" else POLICY
    flavours = (
        ["websocket"] if name == "websocket_connect" else ["iam", "simple"] if "v2" in name else ["iam"]
    )
    caller_names = ["chatter", "nobody"] if name == "websocket_connect" else ["reader", "nobody"]

    @given(data=st.data())
    @fuzz_settings(120, 2000)
    def run(data: st.DataObject) -> None:
        caller = data.draw(st.sampled_from(caller_names))
        flavour = data.draw(st.sampled_from(flavours))
        event = data.draw(damaged(base_event(name, callers.tokens[caller]), callers.tokens))
        TALLY.add(f"inputs:events.authorizer.{name}")
        check_authorizer_answer(callers, authorizers[flavour], event, policy, name)

    before = TALLY[f"inputs:events.authorizer.{name}"]
    run()
    assert TALLY[f"inputs:events.authorizer.{name}"] - before >= scaled(120, 2000) // 2


@pytest.mark.parametrize("name", AUTHORIZER_EVENTS)
def test_undamaged_events_are_answered_as_decide_says(
    callers: Callers, authorizers: dict[str, LambdaAuthorizer], name: str
) -> None:
    # The oracle's baseline: an intact event gets an answer, Allow for the allowed caller only.
    policy = WS_POLICY if name == "websocket_connect" else POLICY
    flavour = "websocket" if name == "websocket_connect" else "iam"
    allowed_caller, denied_caller = (
        ("chatter", "nobody") if name == "websocket_connect" else ("reader", "nobody")
    )
    for caller, expected in ((allowed_caller, True), (denied_caller, False)):
        event = base_event(name, callers.tokens[caller])
        response = authorizers[flavour](event, None)
        arn = arn_of(event)
        assert arn is not None
        assert iam_allows(response["policyDocument"], arn) is expected
        check_authorizer_answer(callers, authorizers[flavour], event, policy, name)


# --- 3. @protect -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROXY_EVENTS)
def test_damaged_proxy_events_never_run_the_handler_unless_decide_allows(callers: Callers, name: str) -> None:
    ran: list[Principal] = []

    @protect(verifier=callers.verifier, policy=POLICY)
    def handler(event: Any, context: Any, *, principal: Principal) -> dict[str, Any]:
        ran.append(principal)
        return {"statusCode": 200, "body": "ok"}

    @given(data=st.data())
    @fuzz_settings(120, 2000)
    def run(data: st.DataObject) -> None:
        caller = data.draw(st.sampled_from(["reader", "nobody"]))
        event = data.draw(damaged(base_event(name, callers.tokens[caller]), callers.tokens))
        TALLY.add(f"inputs:events.protect.{name}")
        ran.clear()
        response = handler(event, None)
        assert isinstance(response, dict)
        text = json.dumps(response, default=str)
        assert not any(token in text for token in callers.tokens.values()), (
            "the token leaked into the response"
        )
        if ran:
            assert response == {"statusCode": 200, "body": "ok"}
            (principal,) = ran
            token = callers.tokens[callers.by_sub[principal.sub]]
            assert carries(event, token)
            assert decide_allows(principal, request_from_http_fields(event), POLICY), event
            TALLY.add("outcomes:protect.handler_ran")
        else:
            assert response["statusCode"] in (401, 403, 500, 503), response
            TALLY.add(f"outcomes:protect.{response['statusCode']}")

    before = TALLY[f"inputs:events.protect.{name}"]
    run()
    assert TALLY[f"inputs:events.protect.{name}"] - before >= scaled(120, 2000) // 2
