"""The Orders HTTP API's Lambda authorizer (``handler.handler``): payload format 2.0, IAM responses.

API Gateway HTTP APIs send a REQUEST-style event (``routeArn``, ``identitySource``, ``headers``). With
simple responses off (template.yaml: ``EnableSimpleResponses: false``) the authorizer answers with an IAM
policy, and because ``policy.yaml`` is cache-safe that policy covers every route of the API for this caller:
API Gateway caches it per ``Authorization`` header for ``ReauthorizeEvery`` seconds and reuses it for every
route that token calls. (With simple responses, a cached ``isAuthorized: true`` would be replayed on other
routes, so the IAM answer is the safe choice when caching is on.) See
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html.

Environment: ``USER_POOL_ID`` and ``APP_CLIENT_IDS`` (comma-separated), as in template.yaml; optional
``JWKS_FILE``, a JWKS bundled next to this file, so the cold start needs no network.
"""

from __future__ import annotations

import os
from pathlib import Path

from cognito_authz import CognitoVerifier, Policy
from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer
from cognito_authz.errors import ConfigError

HERE = Path(__file__).resolve().parent


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is not set")  # fail the cold start, loudly
    return value


def build_authorizer() -> LambdaAuthorizer:
    """The authorizer for this deployment, configured from the environment."""
    verifier = CognitoVerifier(
        _required("USER_POOL_ID"),
        client_id=[part.strip() for part in _required("APP_CLIENT_IDS").split(",") if part.strip()],
        token_use="access",  # the policy decides on OAuth scopes, which only access tokens carry
    )
    jwks_file = os.environ.get("JWKS_FILE", "").strip()
    if jwks_file:
        verifier.load_jwks(HERE / jwks_file)
    # http_v2_response="iam" is the default: IAM documents, safe to cache per token for a cache-safe policy.
    return LambdaAuthorizer(verifier, Policy.from_file(HERE / "policy.yaml"), http_v2_response="iam")


#: The Lambda handler: ``handler(event, context)`` for HTTP API payload 2.0 authorizer events.
handler = build_authorizer()
