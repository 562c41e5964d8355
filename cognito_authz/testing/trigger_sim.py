"""What Cognito does around a pre token generation trigger, for :class:`~cognito_authz.testing.LocalIssuer`.

:func:`trigger_event` builds the event Cognito sends (the V2_0/V3_0 shape) and
:func:`apply_trigger_response` applies the function's answer to the claims as Cognito does: claims added,
overridden and suppressed per token, scopes added and suppressed, groups overridden. A response Cognito
would refuse (a claim Cognito sets itself, a malformed shape) raises ConfigError: the sign-in would fail.
Source: https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cognito_authz.claimsets import TRIGGER_RESERVED_CLAIMS
from cognito_authz.errors import ConfigError

__all__ = ["apply_trigger_response", "trigger_event"]


def trigger_event(
    version: str,
    source: str,
    *,
    region: str,
    user_pool_id: str,
    username: str,
    id_claims: Mapping[str, Any] | None,
    attributes: Mapping[str, str],
    groups: list[str],
    access: Mapping[str, Any],
) -> dict[str, Any]:
    """The pre token generation event Cognito sends for a sign-in (``id_claims`` given) or a client
    credentials grant (``id_claims`` None: no user)."""
    user_attributes: dict[str, str] = {}
    if id_claims is not None:
        user_attributes = {"sub": str(id_claims["sub"]), "cognito:user_status": "CONFIRMED"}
        user_attributes.update({"email_verified": "true", **attributes})
    client = str(access["client_id"])
    return {
        "version": version,
        "triggerSource": source,
        "region": region,
        "userPoolId": user_pool_id,
        "userName": username,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client},
        "request": {
            "userAttributes": user_attributes,
            "groupConfiguration": {
                "groupsToOverride": list(groups),
                "iamRolesToOverride": [],
                "preferredRole": None,
            },
            "scopes": str(access.get("scope", "")).split(),
        },
        "response": {"claimsAndScopeOverrideDetails": None},
    }


def apply_trigger_response(answer: Any, id_claims: dict[str, Any] | None, access: dict[str, Any]) -> None:
    """Apply the trigger's answer to the claims of the tokens about to be signed, in place."""
    response = answer.get("response") if isinstance(answer, dict) else None
    details = response.get("claimsAndScopeOverrideDetails") if isinstance(response, dict) else None
    if details is None:
        return  # no override: Cognito issues the stock tokens
    if not isinstance(details, dict):
        raise ConfigError("claimsAndScopeOverrideDetails must be an object")
    if id_claims is not None:
        _apply_claims(id_claims, details.get("idTokenGeneration"), "idTokenGeneration")
    access_details = details.get("accessTokenGeneration")
    _apply_claims(access, access_details, "accessTokenGeneration")
    if isinstance(access_details, dict):
        scopes = list(dict.fromkeys(str(access.get("scope", "")).split()))
        add = _string_list(access_details.get("scopesToAdd"), "scopesToAdd")
        drop = set(_string_list(access_details.get("scopesToSuppress"), "scopesToSuppress"))
        scopes = [scope for scope in dict.fromkeys([*scopes, *add]) if scope not in drop]
        access["scope"] = " ".join(scopes)
    groups = details.get("groupOverrideDetails")
    if isinstance(groups, dict) and groups.get("groupsToOverride") is not None and id_claims is not None:
        new_groups = _string_list(groups["groupsToOverride"], "groupsToOverride")
        for claims in (id_claims, access):
            claims.pop("cognito:groups", None)
            if new_groups:
                claims["cognito:groups"] = new_groups


def _string_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"trigger response: {what} must be a list of strings")
    return value


def _apply_claims(claims: dict[str, Any], generation: Any, what: str) -> None:
    """Apply ``claimsToAddOrOverride`` and ``claimsToSuppress`` of one token's part of the response."""
    if generation is None:
        return
    if not isinstance(generation, dict):
        raise ConfigError(f"trigger response: {what} must be an object")
    add = generation.get("claimsToAddOrOverride") or {}
    drop = _string_list(generation.get("claimsToSuppress"), f"{what}.claimsToSuppress")
    if not isinstance(add, dict):
        raise ConfigError(f"trigger response: {what}.claimsToAddOrOverride must be an object")
    for name in [*add, *drop]:
        if name in TRIGGER_RESERVED_CLAIMS:
            raise ConfigError(f"trigger response: {what} changes {name!r}, a claim Cognito sets itself")
    claims.update(add)
    for name in drop:
        claims.pop(name, None)
