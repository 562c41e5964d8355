"""A FastAPI app protected by cognito-authz.

``CognitoAuthMiddleware`` verifies every request's bearer token and decides it by the policy below, before
any route runs; ``require_principal`` adds a per-route requirement and hands the route the caller.

    USER_POOL_ID=eu-west-1_AbCdEf123 APP_CLIENT_IDS=clientid uvicorn app:create_app --factory
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request

from cognito_authz import CognitoVerifier, Policy, Principal
from cognito_authz.adapters.asgi import CognitoAuthMiddleware, require_principal

#: The policy, inline (``Policy.from_dict``): no file to ship. ``/health`` and the docs are excluded from
#: authentication below, so no rule is needed for them.
POLICY: dict[str, Any] = {
    "version": 1,
    "groups": ["admin", "support"],
    "rules": [
        {"id": "admin-everything", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
        {
            "id": "read-orders",
            "routes": ["GET /orders", "GET /orders/{orderId}"],
            "when": {"scopes": ["orders/read", "orders/write"]},
        },
        {
            "id": "support-refunds",
            "routes": ["POST /orders/{orderId}/refund"],
            "when": {"groups": ["support"]},
        },
        {"id": "own-profile", "routes": ["GET /me"]},
    ],
}

ORDERS = {"42": {"id": "42", "item": "coffee beans", "status": "shipped"}}

# Route requirements as dependencies: the principal the middleware verified, plus a group check.
SignedIn = Annotated[Principal, Depends(require_principal())]
RefundApprover = Annotated[Principal, Depends(require_principal(groups=["support", "admin"]))]


def verifier_from_environment() -> CognitoVerifier:
    """The production verifier: the pool and app clients from ``USER_POOL_ID`` / ``APP_CLIENT_IDS``."""
    return CognitoVerifier(
        os.environ["USER_POOL_ID"], client_id=os.environ["APP_CLIENT_IDS"].split(","), token_use="access"
    )


def create_app(verifier: CognitoVerifier | None = None, policy: Policy | None = None) -> FastAPI:
    """The app; tests pass a verifier for a local issuer, production reads the environment."""
    app = FastAPI(title="Orders")
    app.add_middleware(
        CognitoAuthMiddleware,
        verifier=verifier or verifier_from_environment(),
        policy=policy or Policy.from_dict(POLICY),
        exclude_paths=["/health", "/docs", "/openapi.json"],
    )

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/orders")
    def list_orders(request: Request) -> dict[str, Any]:
        # The middleware put the verified caller on the request.
        principal: Principal = request.state.principal
        return {"orders": list(ORDERS.values()), "caller": principal.sub}

    @app.get("/orders/{order_id}")
    def get_order(order_id: str) -> dict[str, str]:
        if order_id not in ORDERS:
            raise HTTPException(404, "no such order")
        return ORDERS[order_id]

    @app.post("/orders/{order_id}/refund", status_code=202)
    def refund(order_id: str, principal: RefundApprover) -> dict[str, str | None]:
        return {"refund": order_id, "approved_by": principal.username}

    @app.get("/me")
    def me(principal: SignedIn) -> dict[str, Any]:
        return {"sub": principal.sub, "username": principal.username, "groups": list(principal.groups)}

    return app
