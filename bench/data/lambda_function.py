"""The cold start the bench measures: a Lambda authorizer module as a user would deploy it.

Importing this module is the whole init phase: import the library, build a verifier that never touches
the network, install keys from the JWKS file bundled with the function, load the policy file and build
the authorizer (which also checks, at start-up, whether the policy is cache-safe). ``python
lambda_function.py [policy-file]`` runs exactly that; the bench times it in fresh processes.
"""

from __future__ import annotations

import os
import sys

from cognito_authz import CognitoVerifier, Policy
from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer

HERE = os.path.dirname(os.path.abspath(__file__))
POLICY = sys.argv[1] if __name__ == "__main__" and len(sys.argv) > 1 else os.path.join(HERE, "policy.yaml")

verifier = CognitoVerifier(
    "us-east-1_LocalTest",
    client_id="localtestclient00000000000",
    token_use="access",
    offline=True,  # keys come from the bundled file: no fetch, no requests import
)
verifier.load_jwks(os.path.join(HERE, "jwks.json"))
handler = LambdaAuthorizer(verifier, Policy.from_file(POLICY))
