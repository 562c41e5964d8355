"""The Orders API function behind the authorizer (``orders.handler``).

API Gateway invokes it only for requests the authorizer allowed, and passes the authorizer's context
(``sub``, ``groups``, ``scopes``, ``rules``) in ``requestContext.authorizer``.
``@protect(trust_upstream=True)`` turns that context into a :class:`~cognito_authz.Principal` without
verifying the token a second time.
"""

from __future__ import annotations

import json
from typing import Any

from cognito_authz import Principal
from cognito_authz.adapters.handler import protect

# Stand-in data: a real function would read a table.
ORDERS = {
    "42": {"id": "42", "item": "coffee beans", "quantity": 2, "status": "shipped"},
    "43": {"id": "43", "item": "grinder", "quantity": 1, "status": "open"},
}


def _json(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


@protect(trust_upstream=True)
def handler(event: dict[str, Any], context: Any, *, principal: Principal) -> dict[str, Any]:
    """Route by the API Gateway resource the request matched (REST proxy integration, payload 1.0)."""
    method, resource = event["httpMethod"], event["resource"]
    params = event.get("pathParameters") or {}
    if (method, resource) == ("GET", "/health"):
        return _json(200, {"status": "ok"})
    if (method, resource) == ("GET", "/orders"):
        return _json(200, {"orders": list(ORDERS.values())})
    if resource == "/orders/{orderId}" and method in ("GET", "PUT"):
        order = ORDERS.get(params.get("orderId", ""))
        return _json(200, order) if order is not None else _json(404, {"message": "no such order"})
    if (method, resource) == ("POST", "/orders"):
        return _json(201, {"id": "44", "created_by": principal.sub})
    if (method, resource) == ("POST", "/orders/{orderId}/refund"):
        return _json(
            202, {"refund": params.get("orderId"), "approved_by": principal.username or principal.sub}
        )
    if resource == "/users/{userId}" and method in ("GET", "PUT"):
        # The policy already guaranteed userId == the caller's sub (rule own-profile).
        return _json(
            200, {"sub": principal.sub, "username": principal.username, "groups": list(principal.groups)}
        )
    return _json(404, {"message": "not found"})
