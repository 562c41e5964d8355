"""Every CognitoVerifier option, each set to its default unless the comment says it is required."""

import time

from cognito_authz import CognitoVerifier

verifier = CognitoVerifier(
    "eu-west-1_AbCdEf123",          # required: a user pool id, or a list of them
    client_id=["app-client-id"],    # required: str | list[str] | None (None = any app client, explicitly)
    token_use="access",             # required: "access" | "id" | None (None = either, explicitly)
    # where the keys and the issuer are (defaults derived from the pool id)
    jwks_uri=None,                  # {issuer}/.well-known/jwks.json, for each issuer of the pool
    issuer=None,                    # None: the pool's Cognito issuers (ORIGINAL and UPDATED forms)
    issuer_type=None,               # None: both forms; "original" or "updated": only that one
    replica_regions=(),             # multi-Region replication with the ORIGINAL issuer: replica regions
    audience=None,                  # the aud an access token must name (Cognito sets none)
    allow_http=False,               # plain http:// JWKS URIs only for local issuers
    offline=False,                  # True: never fetch; keys only from load_jwks()
    # token checks
    leeway=0.0,                     # clock skew for exp / nbf / iat / max_age, at most 300 s
    iat_leeway=5.0,                 # how far in the future iat may be (exp stays strict)
    max_token_bytes=8192,           # longer tokens are rejected before any decoding
    algorithms=("RS256",),          # RS256, RS384, RS512 only; Cognito signs with RS256
    required_scopes=None,           # any of these scopes (access tokens only)
    all_scopes=None,                # all of these scopes
    required_groups=None,           # any of these cognito:groups
    all_groups=None,                # all of these groups
    max_age=None,                   # seconds since auth_time (the user's last sign-in)
    custom_check=None,              # callable(principal) -> False to reject
    is_revoked=None,                # callable(principal) -> True if revoked
    # the JWKS cache
    session=None,                   # a requests.Session (proxies, custom CA bundle)
    fetcher=None,                   # or any callable(uri) -> JWKS dict
    jwks_ttl=3600.0,                # keys are fresh for an hour
    kid_miss_cooldown=30.0,         # at most one refetch per 30 s for unknown kids
    max_stale=21600.0,              # serve the last good keys 6 h past their TTL while refreshes fail
    fetch_timeout=3.0,              # total deadline of one JWKS fetch
    # the verified-token cache
    token_cache_size=1024,          # 0 disables it
    clock=time.time,                # for tests
)
