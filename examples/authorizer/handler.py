"""The Orders API's Lambda authorizer: verify the Cognito access token, decide by ``policy.yaml``, answer
API Gateway with an IAM policy.

Everything is built once per cold start, at import, and reused by every invocation the container serves:
the verifier (with its JWKS cache), the compiled policy and the authorizer (which checks at start-up that
the policy is cache-safe, so its principal-wide answers may be cached per token).

Environment (see template.yaml / serverless.yml):

``USER_POOL_ID``
    The Cognito user pool, e.g. ``eu-west-1_AbCdEf123``.
``APP_CLIENT_IDS``
    Comma-separated app client ids whose access tokens are accepted.
``JWKS_FILE`` (optional)
    A JWKS bundled with the function, relative to this file (``curl -o jwks.json
    https://cognito-idp.REGION.amazonaws.com/POOL/.well-known/jwks.json``): the cold start needs no
    network. A key Cognito rotates in later is still fetched on first sight.
``JWKS_URI`` (optional)
    Fetch keys from here instead of Cognito (LocalStack, a local issuer). Plain http only on 127.0.0.1.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cognito_authz import CognitoVerifier, Policy
from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer
from cognito_authz.errors import ConfigError, JwksError

HERE = Path(__file__).resolve().parent
logger = logging.getLogger(__name__)


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        # Fail the cold start with a clear line rather than answer every request with a 500.
        raise ConfigError(f"environment variable {name} is not set")
    return value


def build_authorizer() -> LambdaAuthorizer:
    """The authorizer for this deployment, configured from the environment."""
    client_ids = [part.strip() for part in _required("APP_CLIENT_IDS").split(",") if part.strip()]
    jwks_uri = os.environ.get("JWKS_URI", "").strip() or None
    verifier = CognitoVerifier(
        _required("USER_POOL_ID"),
        client_id=client_ids,
        token_use="access",  # the policy decides on OAuth scopes, which only access tokens carry
        jwks_uri=jwks_uri,
        allow_http=jwks_uri is not None and jwks_uri.startswith("http://127.0.0.1:"),
    )
    jwks_file = os.environ.get("JWKS_FILE", "").strip()
    if jwks_file:
        verifier.load_jwks(HERE / jwks_file)
    else:
        try:
            verifier.hydrate()  # fetch during init, which is not billed against the first request
        except JwksError as exc:
            # Not fatal: the verifier fetches again on the first request (and fails closed if it can't).
            logger.warning("could not prefetch signing keys at cold start: %s", exc.reason)
    return LambdaAuthorizer(verifier, Policy.from_file(HERE / "policy.yaml"))


#: The Lambda handler (``handler.handler``): ``handler(event, context)`` for TOKEN and REQUEST events.
handler = build_authorizer()
