"""The app under test: a Lambda proxy handler protected by ``@protect``.

In production the verifier comes from the environment (``COGNITO_AUTHZ_USER_POOL_ID``,
``COGNITO_AUTHZ_CLIENT_ID``, ``COGNITO_AUTHZ_TOKEN_USE``, optional ``COGNITO_AUTHZ_JWKS``); the policy is
part of the code. ``test_app.py`` shows how to test it against a local issuer instead of Cognito.
"""

from __future__ import annotations

import json
from typing import Any

from cognito_authz import Policy, Principal
from cognito_authz.adapters.handler import protect

POLICY = Policy.from_dict(
    {
        "version": 1,
        "groups": ["admin"],
        "rules": [
            {"id": "admin-everything", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
            {"id": "read-orders", "routes": ["GET /orders/{orderId}"], "when": {"scopes": ["orders/read"]}},
        ],
    }
)


@protect(policy=POLICY)
def handler(event: dict[str, Any], context: Any, *, principal: Principal) -> dict[str, Any]:
    order_id = event["pathParameters"]["orderId"]
    return {"statusCode": 200, "body": json.dumps({"order": order_id, "caller": principal.username})}
