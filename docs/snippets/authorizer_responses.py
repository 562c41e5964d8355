"""What LambdaAuthorizer returns for each kind of event: run it locally, no AWS account needed."""

import json

from cognito_authz import Policy
from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer
from cognito_authz.testing import LocalIssuer

API = "arn:aws:execute-api:eu-west-1:123456789012:k7xq2v9d1a/prod"

with LocalIssuer() as issuer:
    handler = LambdaAuthorizer(
        issuer.verifier(token_use="access"),
        Policy.from_file("examples/policies/design_example.yaml"),
    )
    token = issuer.mint_access_token(sub="user-7", username="carol", scopes=["orders/read"])

    # REST API, TOKEN authorizer: the whole principal-wide policy, whatever route was called.
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": f"{API}/GET/orders/42"}
    print(json.dumps(handler(event, None), indent=2))

    # HTTP API, payload 2.0, with simple responses enabled (http_v2_response="simple"; the default is an
    # IAM document like the one above): the decision for this request only.
    simple = LambdaAuthorizer(
        issuer.verifier(token_use="access"),
        Policy.from_file("examples/policies/design_example.yaml"),
        http_v2_response="simple",
    )
    event = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:eu-west-1:123456789012:r2d4f6h8j0/$default/DELETE/orders/42",
        "identitySource": [f"Bearer {token}"],
        "headers": {"authorization": f"Bearer {token}"},  # the token is read from its header, by name
        "routeKey": "DELETE /orders/{orderId}",
        "rawPath": "/orders/42",
        "requestContext": {"http": {"method": "DELETE", "path": "/orders/42"}, "stage": "$default"},
    }
    print(json.dumps(simple(event, None), indent=2))

    # A bad token: API Gateway's only way to answer 401 is this exact exception.
    event = {"type": "TOKEN", "authorizationToken": "Bearer not-a-jwt", "methodArn": f"{API}/GET/orders"}
    try:
        handler(event, None)
    except Exception as exc:
        print(repr(exc))
