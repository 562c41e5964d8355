"""Three ways to have keys before the first request (choose one)."""

import os

from cognito_authz import CognitoVerifier

verifier = CognitoVerifier(
    os.environ["USER_POOL_ID"], client_id=os.environ["APP_CLIENT_IDS"].split(","), token_use="access"
)

# 1. Fetch now, during the Lambda init phase: raises JwksError if the fetch fails.
verifier.hydrate()

# 2. Keys bundled with the code (a JWKS JSON file): zero network at cold start. The keys count as
#    freshly fetched, so the normal TTL refresh takes over an hour later.
verifier.load_jwks("jwks.json")

# 3. Keys in an environment variable, holding JSON text or a file path.
verifier.load_jwks(env="COGNITO_JWKS")
