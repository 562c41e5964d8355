"""The exception tree: every rejection the library makes is one of these, with a stable ``reason`` code.

This module imports nothing from the package so that every layer can raise from it. Messages name the
problem without echoing secrets (never a token, never a signature); ``reason`` codes are a public,
stable contract that logs, metrics and the error reference in the docs rely on.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "REASONS",
    "AccessDenied",
    "AuthzError",
    "ConfigError",
    "EventError",
    "ExpiredTokenError",
    "ForbiddenHeaderError",
    "InsufficientClaimsError",
    "InvalidClaimError",
    "InvalidKeyError",
    "InvalidSignatureError",
    "JwksError",
    "MalformedTokenError",
    "MissingClaimError",
    "NotYetValidError",
    "PolicyError",
    "RevokedTokenError",
    "TokenError",
    "TokenTooLargeError",
    "UnknownIssuerError",
    "UnknownKeyError",
    "UnsupportedAlgorithmError",
    "WrongClientError",
    "WrongTokenUseError",
]


class AuthzError(Exception):
    """Root of every error this library raises on purpose.

    ``reason`` is a short snake_case code that never changes between releases; ``status`` is the HTTP
    status an adapter answers with. Extra keyword arguments become attributes (``claim``, ``rule_id``,
    ...) so callers can act on them without parsing the message.
    """

    default_reason: ClassVar[str] = "authz_error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, reason: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.details: dict[str, Any] = details
        for key, value in details.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return f"{self.message} [{self.reason}]"


# --- the token is bad: 401 -------------------------------------------------------------------------


class TokenError(AuthzError):
    """The token is not acceptable. Adapters answer 401 (API Gateway: ``Exception("Unauthorized")``)."""

    default_reason = "invalid_token"
    status = 401


class MalformedTokenError(TokenError):
    """Not a well-formed compact JWS: segments, base64url, JSON, header fields of the wrong type."""

    default_reason = "malformed_token"


class TokenTooLargeError(MalformedTokenError):
    """Longer than the configured cap; rejected before any decoding."""

    default_reason = "token_too_large"


class UnsupportedAlgorithmError(TokenError):
    """``alg`` not in the allow-list (``none``, HS*, RS384, PS256, ES256, ...)."""

    default_reason = "unsupported_alg"


class ForbiddenHeaderError(TokenError):
    """A header parameter the verifier refuses to honour (``crit``, ``jku``, ``x5u``, ``jwk``, ...)."""

    default_reason = "forbidden_header"


class UnknownIssuerError(TokenError):
    """``iss`` is not one of the configured issuers; no key fetch happens."""

    default_reason = "unknown_issuer"


class UnknownKeyError(TokenError):
    """No key with this ``kid`` in the issuer's JWKS (after at most one refresh per cooldown)."""

    default_reason = "unknown_kid"


class InvalidKeyError(TokenError):
    """The JWK for this ``kid`` cannot verify this token (``use: enc``, ``kty: oct``, ``alg`` mismatch)."""

    default_reason = "unusable_key"


class InvalidSignatureError(TokenError):
    """The signature does not verify with the issuer's key."""

    default_reason = "invalid_signature"


class ExpiredTokenError(TokenError):
    """``exp`` is in the past (beyond the leeway)."""

    default_reason = "token_expired"


class NotYetValidError(TokenError):
    """``nbf`` or ``iat`` is in the future (beyond the leeway)."""

    default_reason = "token_not_yet_valid"


class MissingClaimError(TokenError):
    """A required claim is absent. ``claim`` names it."""

    default_reason = "missing_claim"


class InvalidClaimError(TokenError):
    """A claim has the wrong type or value. ``claim`` names it."""

    default_reason = "invalid_claim"


class WrongTokenUseError(InvalidClaimError):
    """An ID token where an access token is required, or the reverse."""

    default_reason = "wrong_token_use"


class WrongClientError(InvalidClaimError):
    """``aud`` (ID token) or ``client_id`` (access token) is not a configured app client."""

    default_reason = "wrong_client"


class InsufficientClaimsError(TokenError):
    """A verifier-level requirement (scopes, groups, ``max_age``, custom check) does not hold."""

    default_reason = "insufficient_claims"


class RevokedTokenError(TokenError):
    """The revocation hook reports the token's ``jti`` / ``origin_jti`` as revoked."""

    default_reason = "token_revoked"


# --- keys unavailable: fail closed -----------------------------------------------------------------


class JwksError(AuthzError):
    """Signing keys could not be obtained. Adapters fail closed (never Allow); 503-like."""

    default_reason = "jwks_unavailable"
    status = 503


# --- policy ----------------------------------------------------------------------------------------


class PolicyError(AuthzError):
    """A policy file or document is invalid. ``source``, ``rule_id`` and ``field`` locate the problem."""

    default_reason = "invalid_policy"
    status = 500

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        source: str | None = None,
        rule_id: str | None = None,
        field: str | None = None,
        **details: Any,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                f"file {source}" if source else "",
                f"rule {rule_id!r}" if rule_id else "",
                f"field {field}" if field else "",
            )
            if part
        )
        super().__init__(
            f"{where}: {message}" if where else message,
            reason=reason,
            source=source,
            rule_id=rule_id,
            field=field,
            **details,
        )


class AccessDenied(AuthzError):
    """The token is valid but the policy says no. Carries the ``Decision`` that explains why."""

    default_reason = "access_denied"
    status = 403

    decision: Any

    def __init__(self, message: str, *, decision: Any = None, reason: str | None = None) -> None:
        super().__init__(message, reason=reason, decision=decision)
        self.decision = decision


class EventError(AuthzError):
    """The API Gateway event is not shaped as AWS documents it (a ``methodArn`` that does not parse, ...).

    Raised before any token or policy work. It means the gateway is wired wrongly, not that the caller
    sent something bad, so adapters fail closed with a server error (the Lambda authorizer raises
    ``AuthorizerUnavailable``, API Gateway answers 500; the HTTP adapters answer 500), never Allow.
    """

    default_reason = "invalid_event"
    status = 500


class ConfigError(AuthzError):
    """Bad constructor or adapter arguments: a programming error, raised at set-up time."""

    default_reason = "invalid_config"
    status = 500


#: Every reason code the library emits, with the class that carries it and a one-line meaning. The error
#: reference in the docs is generated from this table, and a test checks that every code raised is here.
REASONS: dict[str, tuple[type[AuthzError], str]] = {
    "invalid_token": (TokenError, "The token is not acceptable (generic)."),
    "missing_token": (TokenError, "The request carries no bearer token."),
    "malformed_token": (MalformedTokenError, "Not a well-formed compact JWS."),
    "non_string_token": (MalformedTokenError, "The token is not a string."),
    "empty_token": (MalformedTokenError, "The token is empty."),
    "bearer_prefix": (MalformedTokenError, "The token still carries an HTTP auth scheme prefix."),
    "bad_segments": (MalformedTokenError, "Not exactly three segments (nested JWE or JWS JSON forms)."),
    "bad_base64": (MalformedTokenError, "A segment is not canonical unpadded base64url."),
    "bad_json": (MalformedTokenError, "Header or payload is not a JSON object (or has duplicate keys, NaN)."),
    "bad_header": (MalformedTokenError, "A header field has the wrong type (kid, alg, typ)."),
    "token_too_large": (TokenTooLargeError, "Longer than the configured max_token_bytes."),
    "unsupported_alg": (UnsupportedAlgorithmError, "alg is not in the allow-list."),
    "forbidden_header": (ForbiddenHeaderError, "crit, b64, zip, jku, x5u, jwk, x5c or a nested cty."),
    "unknown_issuer": (UnknownIssuerError, "iss is not a configured issuer."),
    "unknown_kid": (UnknownKeyError, "No key with this kid in the issuer's JWKS."),
    "unusable_key": (InvalidKeyError, "The JWK cannot verify this token (kty, use, key_ops, alg, n/e)."),
    "invalid_signature": (InvalidSignatureError, "The signature does not verify."),
    "token_expired": (ExpiredTokenError, "exp is in the past."),
    "token_not_yet_valid": (NotYetValidError, "nbf or iat is in the future."),
    "missing_claim": (MissingClaimError, "A required claim is absent."),
    "invalid_claim": (InvalidClaimError, "A claim has the wrong type or value."),
    "wrong_token_use": (WrongTokenUseError, "ID token where access is required, or the reverse."),
    "wrong_client": (WrongClientError, "aud / client_id is not a configured app client."),
    "wrong_audience": (WrongClientError, "An access token's aud names none of the configured audiences."),
    "insufficient_claims": (InsufficientClaimsError, "Required scopes or groups are missing."),
    "auth_too_old": (InsufficientClaimsError, "auth_time is older than max_age."),
    "custom_check_failed": (InsufficientClaimsError, "The custom check hook rejected the token."),
    "token_revoked": (RevokedTokenError, "The revocation hook reports the token revoked."),
    "revocation_check_failed": (RevokedTokenError, "The revocation hook failed; failing closed."),
    "jwks_unavailable": (JwksError, "Keys could not be obtained (generic)."),
    "jwks_fetch_failed": (JwksError, "The JWKS request failed (network, timeout, HTTP status)."),
    "jwks_invalid": (JwksError, "The JWKS document is not valid JSON with a keys array."),
    "jwks_too_large": (JwksError, "The JWKS response exceeded the size cap."),
    "jwks_redirect": (JwksError, "The JWKS endpoint answered with a redirect (never followed)."),
    "jwks_insecure_uri": (JwksError, "The JWKS URI is not HTTPS and plain HTTP was not allowed."),
    "jwks_stale": (JwksError, "Refresh failed and the last good keys are older than max_stale."),
    "jwks_backoff": (JwksError, "A recent refresh failed; waiting for the backoff before retrying."),
    "invalid_policy": (PolicyError, "The policy document is invalid."),
    "policy_unreadable": (PolicyError, "The policy file cannot be read (missing, type, size, no PyYAML)."),
    "policy_syntax": (PolicyError, "The policy file is not valid YAML/JSON/TOML (or repeats a key)."),
    "policy_schema": (PolicyError, "Unknown key, missing field or wrong type in the policy."),
    "invalid_route": (PolicyError, "A route is not valid API Gateway route syntax."),
    "route_literal_brace": (PolicyError, "A route segment has braces that are not a valid {param}."),
    "duplicate_rule_id": (PolicyError, "Two rules share an id."),
    "unknown_path_param": (PolicyError, "A claim template names a parameter the rule's route lacks."),
    "invalid_decision_table": (PolicyError, "A decision-table (policy test cases) file is invalid."),
    "invalid_persona": (PolicyError, "A permission-matrix persona is unnamed, named twice or not claims."),
    "cedar_unexportable": (PolicyError, "The policy (or namespace) cannot be exported to Cedar exactly."),
    "api_import_failed": (
        PolicyError,
        "An API definition (SAM template, OpenAPI export, serverless.yml) gives no usable route table.",
    ),
    "access_denied": (AccessDenied, "The policy denies this request."),
    "requirement_not_met": (AccessDenied, "A per-handler group or scope requirement is not met."),
    "invalid_config": (ConfigError, "Bad constructor or adapter arguments."),
    "invalid_event": (EventError, "The API Gateway event is not shaped as AWS documents it."),
    "invalid_trigger_event": (EventError, "A pre token generation event is not a version 2/3 event."),
    "invalid_method_arn": (EventError, "methodArn / routeArn is not an execute-api method or route ARN."),
    "invalid_iam_document": (PolicyError, "An IAM policy document is malformed or uses unsupported fields."),
}
