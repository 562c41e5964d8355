"""ORIGINAL and UPDATED issuers, replica regions and partitions: what a verifier accepts."""

from cognito_authz import CognitoVerifier

both = CognitoVerifier("eu-west-1_AbCdEf123", client_id=["web"], token_use="access")
for issuer in both.issuers:
    print(issuer)

replicated = CognitoVerifier(
    "eu-west-1_AbCdEf123",
    client_id=["web"],
    token_use="access",
    issuer_type="original",  # this pool never switched: accept the ORIGINAL form only
    replica_regions=["eu-central-1"],  # tokens issued by the replica in Frankfurt name that region
)
print(replicated.issuers)

sovereign = CognitoVerifier("eusc-de-east-1_AbCdEf123", client_id=["web"], token_use="access")
print(sovereign.issuers[1])  # the European Sovereign Cloud's DNS suffix, from AWS's endpoint data
