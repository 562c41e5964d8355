"""Powertools for AWS Lambda interop: authorizer event data classes for ``LambdaAuthorizer``, and a
middleware for the REST/HTTP/ALB event handler resolvers.

::

    app = APIGatewayRestResolver()
    app.use(middlewares=[CognitoResolverMiddleware(verifier, policy)])

    @app.get("/orders/<order_id>")
    def get_order(order_id: str):
        principal = app.context["principal"]

``LambdaAuthorizer(verifier, policy)(event, context)`` accepts ``APIGatewayAuthorizerTokenEvent``,
``APIGatewayAuthorizerRequestEvent`` and ``APIGatewayAuthorizerEventV2`` as they are (it reads their
``raw_event``); :func:`raw_event` does the same unwrapping for your own code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares import BaseMiddlewareHandler, NextMiddleware

from cognito_authz.adapters import common
from cognito_authz.adapters.common import (
    Gate,
    Requirement,
    bearer_token,
    check_parts,
    check_request_options,
    proxy_request,
    rejection,
    upstream_principal,
)
from cognito_authz.errors import ConfigError

if TYPE_CHECKING:
    from cognito_authz.adapters.common import TokenVerifier
    from cognito_authz.policy import Policy

__all__ = ["CONTEXT_KEY", "CognitoResolverMiddleware", "raw_event"]

#: The key of the :class:`Principal` in the resolver's ``app.context``.
CONTEXT_KEY = "principal"


def raw_event(event: Any) -> dict[str, Any]:
    """The event dict behind a Powertools data class (or the dict itself), e.g. for ``LambdaAuthorizer``.

    Raises :class:`ConfigError` for anything that is neither: a handler wired to the wrong event source.
    """
    raw = common.raw_event(event)
    if not isinstance(raw, dict):
        raise ConfigError(f"expected an event dict or a Powertools data class, not {type(event).__name__}")
    return raw


class CognitoResolverMiddleware(BaseMiddlewareHandler[ApiGatewayResolver]):
    """Powertools event handler middleware: authenticate, authorize, expose ``app.context["principal"]``.

    Works with ``APIGatewayRestResolver``, ``APIGatewayHttpResolver`` and ``ALBResolver``, globally
    (``app.use(middlewares=[...])``) or per route (``@app.get(..., middlewares=[...])``). The principal
    comes from the bearer token (verified by ``verifier``) or, with ``trust_upstream=True``, from the
    claims the API Gateway authorizer already verified. ``groups``/``scopes`` (any of), ``all_groups``/
    ``all_scopes`` and ``policy`` must all allow. The policy decides on the method and the API-relative
    path API Gateway routed, rebuilt from the route template and ``pathParameters``: the path the
    resolver routes after its ``strip_prefixes``, never one still carrying a custom domain's base-path
    mapping (``base_path``: only for an HTTP API ``$default`` route behind a custom domain; see
    :func:`common.api_path`). ``token_header`` names the token's header (default ``Authorization``).
    Failures answer 401/403/503/500 ``Response`` objects with a generic JSON body.
    """

    def __init__(
        self,
        verifier: TokenVerifier | None = None,
        policy: Policy | None = None,
        *,
        groups: Sequence[str] = (),
        all_groups: Sequence[str] = (),
        scopes: Sequence[str] = (),
        all_scopes: Sequence[str] = (),
        trust_upstream: bool = False,
        base_path: str | None = None,
        token_header: str = "authorization",
    ) -> None:
        super().__init__()
        check_request_options(base_path, token_header)
        self.base_path = base_path
        self.token_header = token_header
        if trust_upstream not in (True, False):
            raise ConfigError("trust_upstream must be True or False")
        if verifier is None and not trust_upstream:
            raise ConfigError("CognitoResolverMiddleware needs a verifier, or trust_upstream=True")
        check_parts(verifier, policy)
        self.gate = Gate(
            verifier,
            policy,
            Requirement.of(groups=groups, all_groups=all_groups, scopes=scopes, all_scopes=all_scopes),
        )
        self.trust_upstream = trust_upstream

    def handler(self, app: ApiGatewayResolver, next_middleware: NextMiddleware) -> Response[Any]:
        event = app.current_event.raw_event
        request = None
        method, path = "?", "?"
        try:
            request = proxy_request(event, base_path=self.base_path, token_header=self.token_header)
            if request is not None:
                method, path = request.method, request.path
            if request is None:
                raise ConfigError("the resolver's event is not a REST, HTTP API or ALB proxy event")
            if self.trust_upstream:
                principal = upstream_principal(event)
            else:
                principal = self.gate.authenticate(bearer_token(request.authorization))
            self.gate.authorize(principal, method, path)
        except Exception as exc:  # every failure is a rejection: never pass, never leak the exception
            answer = rejection(exc, method=method, path=path)
            return Response(
                status_code=answer.status,
                content_type="application/json",
                body=answer.body(),
                headers=dict(answer.headers),
            )
        app.context[CONTEXT_KEY] = principal
        return next_middleware(app)
