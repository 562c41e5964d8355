"""Requirements and hooks that run after the signature and the standard claims are checked."""

from cognito_authz import CognitoVerifier, Principal

REVOKED_JTIS: set[str] = set()  # in real life: a DynamoDB table or a cache filled from sign-out events


def is_revoked(principal: Principal) -> bool:
    # Access tokens carry jti; origin_jti is shared by every token minted from one refresh token.
    claims = principal.claims
    return claims.get("jti") in REVOKED_JTIS or claims.get("origin_jti") in REVOKED_JTIS


def email_domain_ok(principal: Principal) -> bool:
    return str(principal.claims.get("email", "")).endswith("@example.com")


admin_api = CognitoVerifier(
    "eu-west-1_AbCdEf123",
    client_id="admin-console-client",
    token_use="id",
    required_groups=["admin", "support"],  # any of them
    max_age=15 * 60,                       # signed in within the last 15 minutes
    custom_check=email_domain_ok,          # False (or a raised TokenError) rejects
    is_revoked=is_revoked,                 # True rejects; an exception from it also rejects
)
