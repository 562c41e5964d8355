"""A Flask app protected by cognito-authz.

``CognitoWsgiMiddleware`` verifies every request's bearer token and decides it by ``policy.toml`` before
Flask routes it; ``flask_protect`` adds a per-view requirement and puts the caller in ``flask.g.principal``.

    USER_POOL_ID=eu-west-1_AbCdEf123 APP_CLIENT_IDS=clientid flask --app app:create_app run
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, abort, g, request

from cognito_authz import CognitoVerifier, Policy
from cognito_authz.adapters.wsgi import PRINCIPAL_KEY, CognitoWsgiMiddleware, flask_protect

HERE = Path(__file__).resolve().parent
ORDERS = {"42": {"id": "42", "item": "coffee beans", "status": "shipped"}}


def verifier_from_environment() -> CognitoVerifier:
    """The production verifier: the pool and app clients from ``USER_POOL_ID`` / ``APP_CLIENT_IDS``."""
    return CognitoVerifier(
        os.environ["USER_POOL_ID"], client_id=os.environ["APP_CLIENT_IDS"].split(","), token_use="access"
    )


def create_app(verifier: CognitoVerifier | None = None, policy: Policy | None = None) -> Flask:
    """The app factory; tests pass a verifier for a local issuer, production reads the environment."""
    app = Flask(__name__)
    app.wsgi_app = CognitoWsgiMiddleware(
        app.wsgi_app,
        verifier=verifier or verifier_from_environment(),
        policy=policy or Policy.from_file(HERE / "policy.toml"),
        exclude_paths=["/health"],
    )

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/orders")
    def list_orders() -> dict[str, Any]:
        principal = request.environ[PRINCIPAL_KEY]  # set by the middleware
        return {"orders": list(ORDERS.values()), "caller": principal.sub}

    @app.get("/orders/<order_id>")
    def get_order(order_id: str) -> dict[str, str]:
        if order_id not in ORDERS:
            abort(404)
        return ORDERS[order_id]

    @app.post("/orders/<order_id>/refund")
    @flask_protect(groups=["support", "admin"])
    def refund(order_id: str) -> tuple[dict[str, Any], int]:
        return {"refund": order_id, "approved_by": g.principal.username}, 202

    return app
