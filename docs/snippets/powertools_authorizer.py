"""LambdaAuthorizer takes Powertools' authorizer event data classes as they are."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from cognito_authz import CognitoVerifier, Policy
from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer

authorizer = LambdaAuthorizer(
    CognitoVerifier("eu-west-1_AbCdEf123", client_id=["app-client-id"], token_use="access"),
    Policy.from_file("examples/policies/design_example.yaml"),
)


@event_source(data_class=APIGatewayAuthorizerTokenEvent)
def lambda_handler(event: APIGatewayAuthorizerTokenEvent, context: LambdaContext) -> dict[str, Any]:
    # Log with Powertools, add metrics, ... then let the authorizer answer from the same event.
    return authorizer(event, context)
