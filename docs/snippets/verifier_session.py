"""Where the keys come from: an injected requests.Session, or any fetcher you like."""

from typing import Any

import requests

from cognito_authz import CognitoVerifier
from cognito_authz.errors import JwksError

# A session for a corporate proxy and CA bundle. The session's `verify` wins over REQUESTS_CA_BUNDLE.
session = requests.Session()
session.proxies = {"https": "http://proxy.internal.example.com:3128"}
session.verify = "/etc/pki/tls/certs/corporate-ca.pem"

behind_proxy = CognitoVerifier(
    "eu-west-1_AbCdEf123", client_id=["app-client-id"], token_use="access", session=session
)


# Or any callable that turns the JWKS URI into the parsed document. It owns its limits (deadline,
# size), and should raise JwksError; any other exception is wrapped as jwks_fetch_failed.
def fetch_from_mirror(uri: str) -> Any:
    response = requests.get(uri.replace("cognito-idp.", "keys-mirror."), timeout=2, allow_redirects=False)
    if response.status_code != 200:
        raise JwksError(f"mirror answered {response.status_code}", reason="jwks_fetch_failed")
    return response.json()


mirrored = CognitoVerifier(
    "eu-west-1_AbCdEf123", client_id=["app-client-id"], token_use="access", fetcher=fetch_from_mirror
)
