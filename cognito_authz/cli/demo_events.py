"""API Gateway events for the demo, shaped as AWS documents them (the same shapes as ``tests/events/``).

The demo API is an ``ANY /{proxy+}`` integration, so ``resource``/``routeKey`` name the proxy route and
the request path arrives in ``pathParameters.proxy``: what an API fronting a single Lambda looks like.
Builders take the path as the API routes it (no stage) and a bearer token.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ACCOUNT_ID",
    "HTTP_API_ID",
    "REGION",
    "REST_API_ID",
    "REST_STAGE",
    "WEBSOCKET_API_ID",
    "http_v2_authorizer_event",
    "http_v2_proxy_event",
    "method_arn",
    "rest_request_event",
    "rest_token_event",
    "rest_v1_proxy_event",
    "websocket_connect_event",
]

REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"
REST_API_ID = "k7xq2v9d1a"
HTTP_API_ID = "r2d4f6h8j0"
WEBSOCKET_API_ID = "w9e8r7t6y5"
REST_STAGE = "prod"
WEBSOCKET_STAGE = "production"

_SOURCE_IP = "203.0.113.17"
_USER_AGENT = "cognito-authz-demo"
_TIME = "05/Dec/2024:14:03:26 +0000"
_EPOCH_MS = 1733407406123


def method_arn(api_id: str, stage: str, method: str, path: str) -> str:
    """``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{VERB}/{path}``; WebSocket: no verb."""
    base = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/{stage}"
    if path.startswith("$"):
        return f"{base}/{path}"
    return f"{base}/{method}{path}"


def _domain(api_id: str) -> str:
    return f"{api_id}.execute-api.{REGION}.amazonaws.com"


def _proxy_param(path: str) -> dict[str, str] | None:
    proxy = path.lstrip("/")
    return {"proxy": proxy} if proxy else None


def rest_token_event(token: str, method: str, path: str) -> dict[str, Any]:
    """REST API TOKEN authorizer input: the header value and the method ARN, nothing else."""
    return {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": method_arn(REST_API_ID, REST_STAGE, method, path),
    }


def _rest_headers(token: str | None) -> dict[str, str]:
    headers = {
        "Accept": "application/json",
        "Host": _domain(REST_API_ID),
        "User-Agent": _USER_AGENT,
        "X-Forwarded-For": _SOURCE_IP,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _rest_context(method: str, path: str, request_id: str) -> dict[str, Any]:
    return {
        "resourceId": "x3k9qz",
        "resourcePath": "/{proxy+}",
        "httpMethod": method,
        "extendedRequestId": "Hc1Y2FkZWI0ZjA=",
        "requestTime": _TIME,
        "path": f"/{REST_STAGE}{path}",
        "accountId": ACCOUNT_ID,
        "protocol": "HTTP/1.1",
        "stage": REST_STAGE,
        "domainPrefix": REST_API_ID,
        "requestTimeEpoch": _EPOCH_MS,
        "requestId": request_id,
        "identity": {"sourceIp": _SOURCE_IP, "userAgent": _USER_AGENT},
        "domainName": _domain(REST_API_ID),
        "apiId": REST_API_ID,
    }


def rest_request_event(token: str, method: str, path: str) -> dict[str, Any]:
    """REST API REQUEST authorizer input: the whole request, headers and method ARN."""
    headers = _rest_headers(token)
    return {
        "type": "REQUEST",
        "methodArn": method_arn(REST_API_ID, REST_STAGE, method, path),
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": _proxy_param(path),
        "stageVariables": None,
        "requestContext": _rest_context(method, path, "5c8f3a7e-9b2d-4e61-a0f4-7d3c2b1a9e86"),
    }


def rest_v1_proxy_event(token: str | None, method: str, path: str) -> dict[str, Any]:
    """REST API Lambda proxy integration input (payload 1.0) for a handler."""
    headers = _rest_headers(token)
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": _proxy_param(path),
        "stageVariables": None,
        "requestContext": _rest_context(method, path, "6d9f4b8f-0c3e-4f72-b1a5-8e4d3c2b0f97"),
        "body": None,
        "isBase64Encoded": False,
    }


def _http_context(method: str, path: str) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "apiId": HTTP_API_ID,
        "domainName": _domain(HTTP_API_ID),
        "domainPrefix": HTTP_API_ID,
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": _SOURCE_IP,
            "userAgent": _USER_AGENT,
        },
        "requestId": "Hc1ZmhvN4AMEbVQ=",
        "routeKey": "ANY /{proxy+}",
        "stage": "$default",
        "time": _TIME,
        "timeEpoch": _EPOCH_MS,
    }


def _http_headers(token: str | None) -> dict[str, str]:
    headers = {
        "accept": "application/json",
        "content-length": "0",
        "host": _domain(HTTP_API_ID),
        "user-agent": _USER_AGENT,
        "x-forwarded-for": _SOURCE_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return headers


def http_v2_authorizer_event(token: str, method: str, path: str) -> dict[str, Any]:
    """HTTP API Lambda authorizer input, payload format 2.0, on the ``$default`` stage."""
    event: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": method_arn(HTTP_API_ID, "$default", method, path),
        "identitySource": [f"Bearer {token}"],
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": _http_headers(token),
        "requestContext": _http_context(method, path),
    }
    params = _proxy_param(path)
    if params is not None:
        event["pathParameters"] = params
    return event


def http_v2_proxy_event(token: str | None, method: str, path: str) -> dict[str, Any]:
    """HTTP API Lambda proxy integration input, payload format 2.0, for a handler."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": _http_headers(token),
        "requestContext": _http_context(method, path),
        "isBase64Encoded": False,
    }
    params = _proxy_param(path)
    if params is not None:
        event["pathParameters"] = params
    return event


def websocket_connect_event(token: str) -> dict[str, Any]:
    """WebSocket API ``$connect`` REQUEST authorizer input (browsers cannot set headers: query token)."""
    headers = {
        "Host": _domain(WEBSOCKET_API_ID),
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "X-Forwarded-For": _SOURCE_IP,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    return {
        "type": "REQUEST",
        "methodArn": method_arn(WEBSOCKET_API_ID, WEBSOCKET_STAGE, "", "$connect"),
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {"token": token},
        "multiValueQueryStringParameters": {"token": [token]},
        "stageVariables": {},
        "requestContext": {
            "routeKey": "$connect",
            "eventType": "CONNECT",
            "extendedRequestId": "Hc1bXFe2IAMEbTg=",
            "requestTime": _TIME,
            "messageDirection": "IN",
            "stage": WEBSOCKET_STAGE,
            "connectedAt": _EPOCH_MS,
            "requestTimeEpoch": _EPOCH_MS,
            "identity": {"sourceIp": _SOURCE_IP},
            "requestId": "Hc1bXFe2IAMEbTg=",
            "domainName": _domain(WEBSOCKET_API_ID),
            "connectionId": "Hc1bXcRqoAMCJqA=",
            "apiId": WEBSOCKET_API_ID,
        },
    }
