"""What Cognito puts in its tokens by default: the claim sets of ID, access and M2M access tokens.

One table for everyone who needs to know where a claim comes from: ``lint`` (does a rule compare a
claim these tokens lack?), :mod:`cognito_authz.triggers` (which claims may a trigger add?) and
``LocalIssuer`` (what does a stock token carry?). Pure data: importing it costs nothing and it imports
nothing of ours, so every layer may use it.

Sources (Amazon Cognito Developer Guide):

* ID token: https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
  (``sub``, ``cognito:groups``, ``email_verified``, ``iss``, ``cognito:username``, ``origin_jti``, ``aud``,
  ``event_id``, ``token_use``, ``auth_time``, ``exp``, ``iat``, ``jti``, plus the user's attributes the app
  client may read: ``email``, ``custom:*`` ...).
* Access token: https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
  (``sub``, ``cognito:groups``, ``iss``, ``version``, ``client_id``, ``origin_jti``, ``event_id``,
  ``token_use``, ``scope``, ``auth_time``, ``exp``, ``iat``, ``jti``, ``username``; no user attributes).
* Client credentials (M2M) access tokens carry no user: ``sub`` is the app client id, no ``username``,
  no groups, only the custom scopes the client was granted.
* Anything else in an access token comes from a pre token generation trigger (event version 2 or 3, on
  the Essentials or Plus feature plan):
  https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "ACCESS_TOKEN_CLAIMS",
    "AWS_UNMODIFIABLE_CLAIMS",
    "ID_TOKEN_CLAIMS",
    "M2M_ACCESS_TOKEN_CLAIMS",
    "TRIGGER_RESERVED_CLAIMS",
    "carried_by_default",
]

#: Registered JWT claims (RFC 7519 section 4.1): every issuer may set them, so a rule may compare them.
JWT_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})

ACCESS_TOKEN_CLAIMS = frozenset(
    {
        "sub",
        "cognito:groups",
        "iss",
        "version",
        "client_id",
        "origin_jti",
        "event_id",
        "token_use",
        "scope",
        "auth_time",
        "exp",
        "iat",
        "jti",
        "username",
    }
)

M2M_ACCESS_TOKEN_CLAIMS = frozenset(
    {"sub", "iss", "version", "client_id", "token_use", "scope", "auth_time", "exp", "iat", "jti"}
)

#: The fixed claims of an ID token; the user's readable attributes (``email``, ``custom:*``, ...) join them.
ID_TOKEN_CLAIMS = frozenset(
    {
        "sub",
        "cognito:groups",
        "email_verified",
        "iss",
        "cognito:username",
        "origin_jti",
        "aud",
        "event_id",
        "token_use",
        "auth_time",
        "exp",
        "iat",
        "jti",
    }
)

#: Claims Cognito sets itself and a trigger must not add, override or suppress. The Developer Guide's
#: pre token generation page lists the claims a trigger "can not modify": ``acr``, ``amr``, ``aud``,
#: ``at_hash``, ``auth_time``, ``azp``, ``cognito:username``, ``exp``, ``iat``, ``identities``, ``iss``,
#: ``jti``, ``nbf``, ``nonce``, ``origin_jti``, ``sub``, ``token_use``
#: (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html;
#: ``AWS_UNMODIFIABLE_CLAIMS`` below, held to be a subset by ``tests/test_triggers.py``). Conservative on
#: purpose beyond that list: every claim Cognito uses to identify the token, its client and its user
#: (``client_id``, ``username``, ``version``, ``event_id``, ``scope``). Groups change through
#: ``groupOverrideDetails``, scopes through ``scopesToAdd``/``scopesToSuppress``, never as claims.
AWS_UNMODIFIABLE_CLAIMS = frozenset(
    {
        "acr",
        "amr",
        "aud",
        "at_hash",
        "auth_time",
        "azp",
        "cognito:username",
        "exp",
        "iat",
        "identities",
        "iss",
        "jti",
        "nbf",
        "nonce",
        "origin_jti",
        "sub",
        "token_use",
    }
)
TRIGGER_RESERVED_CLAIMS = frozenset(
    {
        *JWT_CLAIMS,
        "acr",
        "amr",
        "at_hash",
        "auth_time",
        "azp",
        "c_hash",
        "client_id",
        "cognito:groups",
        "cognito:username",
        "cognito:roles",
        "cognito:preferred_role",
        "event_id",
        "identities",
        "nonce",
        "origin_jti",
        "scope",
        "token_use",
        "username",
        "version",
    }
)


def carried_by_default(claim: str, token_use: Literal["id", "access"]) -> bool:
    """Whether stock Cognito tokens of ``token_use`` can carry ``claim`` without a trigger.

    ID tokens carry the user's attributes, so any claim that is not an access-token-only claim may be
    there; access tokens carry exactly :data:`ACCESS_TOKEN_CLAIMS`.
    """
    if token_use == "access":
        return claim in ACCESS_TOKEN_CLAIMS or claim in JWT_CLAIMS
    return claim not in ("scope", "client_id", "username", "version")
