"""A Lambda proxy handler that checks its callers itself, with no API Gateway authorizer in front.

``@protect`` reads the event (REST API payload 1.0, HTTP API 2.0, ALB), verifies the bearer token,
applies ``policy.json`` to the method and path, and only then calls the handler with the caller's
:class:`~cognito_authz.Principal`. Failures never reach the handler: they are answered 401, 403 or 503
in the event's own response format, with a generic body.

Environment: ``USER_POOL_ID``, ``APP_CLIENT_IDS`` (comma-separated), optional ``JWKS_FILE`` (a bundled JWKS,
relative to this file) and ``JWKS_URI`` (a local issuer or LocalStack; plain http only on 127.0.0.1).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cognito_authz import CognitoVerifier, Policy, Principal
from cognito_authz.adapters.common import proxy_request
from cognito_authz.adapters.handler import protect

HERE = Path(__file__).resolve().parent

# Built once per cold start; every invocation reuses the key cache and the compiled policy.
_jwks_uri = os.environ.get("JWKS_URI") or None
VERIFIER = CognitoVerifier(
    os.environ["USER_POOL_ID"],
    client_id=os.environ["APP_CLIENT_IDS"].split(","),
    token_use="access",
    jwks_uri=_jwks_uri,
    allow_http=_jwks_uri is not None and _jwks_uri.startswith("http://127.0.0.1:"),
)
if os.environ.get("JWKS_FILE"):
    VERIFIER.load_jwks(HERE / os.environ["JWKS_FILE"])
POLICY = Policy.from_file(HERE / "policy.json")

ORDERS = {"42": {"id": "42", "item": "coffee beans", "status": "shipped"}}


def _json(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def _route(event: dict[str, Any]) -> tuple[str, str]:
    """(method, path) as the policy saw them: the API-relative path rebuilt from the route template and
    ``pathParameters``, so a stage or a custom domain's base-path mapping never changes the route."""
    request = proxy_request(event)
    assert request is not None  # @protect answered any other event already
    return request.method, request.path


@protect(verifier=VERIFIER, policy=POLICY)
def handler(event: dict[str, Any], context: Any, *, principal: Principal) -> dict[str, Any]:
    """The Orders API; the policy has already allowed this caller on this route."""
    method, path = _route(event)
    order_id = (event.get("pathParameters") or {}).get("orderId")
    if (method, path) == ("GET", "/orders"):
        return _json(200, {"orders": list(ORDERS.values()), "caller": principal.sub})
    if method == "GET" and order_id is not None:
        order = ORDERS.get(order_id)
        return _json(200, order) if order else _json(404, {"message": "no such order"})
    if (method, path) == ("POST", "/orders"):
        return _json(201, {"id": "43", "created_by": principal.sub})
    if method == "POST" and path.endswith("/refund"):
        return _json(202, {"refund": order_id, "approved_by": principal.username})
    return _json(404, {"message": "not found"})


@protect(verifier=VERIFIER, groups=["admin"])
def admin_handler(event: dict[str, Any], context: Any, *, principal: Principal) -> dict[str, Any]:
    """A second function with a plain group requirement instead of a policy file."""
    return _json(200, {"orders": len(ORDERS), "admin": principal.username})
