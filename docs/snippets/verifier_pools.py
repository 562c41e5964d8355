"""One verifier for several user pools: the token's iss picks the pool, among configured ones only."""

from cognito_authz import CognitoVerifier

verifier = CognitoVerifier(
    ["eu-west-1_Customers1", "eu-west-1_Staff12345"],
    client_id=["customer-web-client", "staff-console-client"],
    token_use="access",
    # Overrides for several pools are mappings keyed by pool id; pools left out keep the defaults.
    jwks_uri={"eu-west-1_Staff12345": "https://keys.internal.example.com/staff/jwks.json"},
)

print(verifier.pool_ids)  # ('eu-west-1_Customers1', 'eu-west-1_Staff12345')
print(verifier.issuers[0])  # https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Customers1
