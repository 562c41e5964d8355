"""Try the verifier and a policy locally: a Cognito-shaped issuer on 127.0.0.1, no AWS account."""

from cognito_authz import Policy
from cognito_authz.errors import TokenError
from cognito_authz.testing import LocalIssuer

with LocalIssuer() as issuer:  # RSA keys, real-shaped tokens, a JWKS served over loopback HTTP
    verifier = issuer.verifier(token_use="access")  # a CognitoVerifier wired to the local JWKS
    token = issuer.mint_access_token(username="alice", scopes=["orders/read"])

    principal = verifier.verify(token)
    print(principal.username, principal.scopes)  # alice ('orders/read',)

    policy = Policy.from_file("examples/policies/design_example.yaml")
    decision = policy.decide(principal, "GET", "/orders/42")
    print(decision.allowed, decision.reason, decision.rules)  # True allowed ('read-orders',)
    print(decision.explain())

    try:
        verifier.verify(issuer.mint_id_token(username="alice"))  # an ID token where access is required
    except TokenError as exc:
        print(type(exc).__name__, exc.reason)  # WrongTokenUseError wrong_token_use
