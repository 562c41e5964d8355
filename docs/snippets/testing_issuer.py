"""LocalIssuer beyond the happy path: expired tokens, other clients, hand-made headers, key rotation."""

from cognito_authz.errors import TokenError
from cognito_authz.testing import LocalIssuer


def reason(verifier, token: str) -> str:
    try:
        verifier.verify(token)
    except TokenError as exc:
        return exc.reason
    return "accepted"


with LocalIssuer("eu-west-1_TestPool1", client_id="web-client") as issuer:
    verifier = issuer.verifier(token_use="access")  # any CognitoVerifier option can be overridden here

    print(reason(verifier, issuer.mint_access_token(groups=["admin"], scopes=["orders/read"])))
    print(reason(verifier, issuer.mint_access_token(lifetime=-60)))  # expired a minute ago
    print(reason(verifier, issuer.mint_access_token(client_id="another-client")))
    print(reason(verifier, issuer.mint_id_token(custom_attributes={"tenant_id": "acme"})))
    print(reason(verifier, issuer.mint_access_token(headers={"alg": "HS256"})))  # header says HS256
    print(reason(verifier, issuer.mint_access_token(omit=["token_use"])))

    old = issuer.mint_access_token()
    issuer.rotate_keys(keep_previous=False)  # the old key leaves the published JWKS
    print(reason(verifier, issuer.mint_access_token()))  # unknown kid: one refetch finds the new key
    print(reason(verifier, old))  # cached, but its key is gone after the refresh
    print(issuer.request_count, "JWKS requests served")
