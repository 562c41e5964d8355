"""The Orders HTTP API function (``app.handler``, payload format 2.0), invoked only for allowed requests.

The authorizer's context arrives in ``requestContext.authorizer.lambda``; ``@protect(trust_upstream=True)``
turns it into a :class:`~cognito_authz.Principal` without verifying the token a second time.
"""

from __future__ import annotations

import json
from typing import Any

from cognito_authz import Principal
from cognito_authz.adapters.handler import protect

ORDERS = {"42": {"id": "42", "item": "coffee beans", "status": "shipped"}}


def _json(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


@protect(trust_upstream=True)
def handler(event: dict[str, Any], context: Any, *, principal: Principal) -> dict[str, Any]:
    """Route by the HTTP API route key the request matched (``GET /orders/{orderId}``)."""
    route = event.get("routeKey", "")
    params = event.get("pathParameters") or {}
    if route == "GET /health":
        return _json(200, {"status": "ok"})
    if route == "GET /orders":
        return _json(200, {"orders": list(ORDERS.values())})
    if route == "GET /orders/{orderId}":
        order = ORDERS.get(params.get("orderId", ""))
        return _json(200, order) if order else _json(404, {"message": "no such order"})
    if route == "POST /orders":
        return _json(201, {"id": "44", "created_by": principal.sub})
    return _json(404, {"message": "not found"})
