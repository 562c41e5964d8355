# handler.py: the smallest complete Lambda authorizer (examples/authorizer/handler.py is the full one:
# clear errors for missing configuration, a bundled JWKS, key prefetch at cold start).
import os

from cognito_authz import CognitoVerifier, Policy
from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer

# Built once per cold start, at import; every invocation the container serves reuses them.
verifier = CognitoVerifier(
    os.environ["USER_POOL_ID"],  # eu-west-1_AbCdEf123
    client_id=os.environ["APP_CLIENT_IDS"].split(","),
    token_use="access",
)
handler = LambdaAuthorizer(verifier, Policy.from_file("policy.yaml"))
