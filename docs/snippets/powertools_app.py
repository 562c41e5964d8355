"""Powertools for AWS Lambda: a REST API resolver guarded by CognitoResolverMiddleware."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext

from cognito_authz import CognitoVerifier, Policy, Principal
from cognito_authz.adapters.powertools import CognitoResolverMiddleware

verifier = CognitoVerifier("eu-west-1_AbCdEf123", client_id=["app-client-id"], token_use="access")
policy = Policy.from_file("examples/policies/design_example.yaml")

app = APIGatewayRestResolver()
app.use(middlewares=[CognitoResolverMiddleware(verifier, policy)])  # every route: token + policy


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> dict[str, Any]:
    principal: Principal = app.context["principal"]
    return {"order": order_id, "reader": principal.sub}


# One route with an extra requirement, on top of the global middleware.
@app.delete("/orders/<order_id>", middlewares=[CognitoResolverMiddleware(verifier, groups=["admin"])])
def delete_order(order_id: str) -> dict[str, Any]:
    return {"deleted": order_id}


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
