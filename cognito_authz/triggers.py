"""A Cognito pre token generation Lambda handler that puts the claims a policy needs into access tokens.

Stock Cognito access tokens carry no user attributes (:mod:`cognito_authz.claimsets`); a policy that
compares ``custom:tenant_id`` on access tokens denies every request on a stock pool. The remedy Cognito
offers is the pre token generation trigger, event version 2 (user sign-in) or 3 (sign-in and client
credentials), on the Essentials or Plus feature plan. :class:`PreTokenGenerationTrigger` is that
trigger, built from the policy and three explicit choices:

* ``copy_attributes``: user attributes copied into access tokens (by default, the attributes the policy
  compares that access tokens lack);
* ``scopes_by_group``: scopes added to the access token of a member of a group;
* ``suppress_claims``: claims removed from access tokens.

It answers with the documented response shape, ``response.claimsAndScopeOverrideDetails`` with
``idTokenGeneration``, ``accessTokenGeneration`` (``claimsToAddOrOverride``, ``claimsToSuppress``,
``scopesToAdd``, ``scopesToSuppress``) and ``groupOverrideDetails``:
https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html

It fails closed: an event it does not understand (version 1, whose response shape differs and would be
ignored, or a malformed request) raises :class:`~cognito_authz.errors.EventError`, so the Lambda fails and
Cognito refuses the sign-in instead of issuing tokens without the claims the policy needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cognito_authz.claimsets import TRIGGER_RESERVED_CLAIMS, carried_by_default
from cognito_authz.errors import ConfigError, EventError

if TYPE_CHECKING:
    from cognito_authz.policy import Policy

__all__ = ["PreTokenGenerationTrigger", "claims_access_tokens_lack"]

#: Trigger sources of the V2/V3 events; client credentials come only with V3.
_USER_SOURCES = frozenset(
    {
        "TokenGeneration_HostedAuth",
        "TokenGeneration_Authentication",
        "TokenGeneration_NewPasswordChallenge",
        "TokenGeneration_AuthenticateDevice",
        "TokenGeneration_RefreshTokens",
    }
)
CLIENT_CREDENTIALS_SOURCE = "TokenGeneration_ClientCredentials"


def claims_access_tokens_lack(policy: Policy) -> tuple[str, ...]:
    """The claims the policy's rules compare that stock Cognito access tokens do not carry, in rule order."""
    names: dict[str, None] = {}
    for rule in policy.rules:
        for condition in (rule.when, rule.unless):
            if condition is not None and condition.claims:
                for claim in condition.claims:
                    if not carried_by_default(claim, "access"):
                        names[claim] = None
    return tuple(names)


def _names(value: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigError(f"{what} must be a list of names")
    items = tuple(value)
    if not all(isinstance(item, str) and item for item in items):
        raise ConfigError(f"{what} must contain non-empty strings")
    return tuple(dict.fromkeys(items))


class PreTokenGenerationTrigger:
    """A pre token generation handler (``handler(event, context) -> event``) for event versions 2 and 3.

    Deploy an instance as the Lambda handler (see docs/id-vs-access-tokens.md). Attributes a user lacks
    are not added: a policy comparing them then denies, as it should.
    """

    def __init__(
        self,
        *,
        copy_attributes: Iterable[str] = (),
        scopes_by_group: Mapping[str, Iterable[str]] | None = None,
        suppress_claims: Iterable[str] = (),
    ) -> None:
        self.copy_attributes = _names(copy_attributes, "copy_attributes")
        self.suppress_claims = _names(suppress_claims, "suppress_claims")
        for name in (*self.copy_attributes, *self.suppress_claims):
            if name in TRIGGER_RESERVED_CLAIMS:
                raise ConfigError(f"{name!r} is a claim Cognito sets itself; a trigger cannot change it")
        both = set(self.copy_attributes) & set(self.suppress_claims)
        if both:
            raise ConfigError(f"claims both copied and suppressed: {sorted(both)}")
        if scopes_by_group is not None and not isinstance(scopes_by_group, Mapping):
            raise ConfigError("scopes_by_group must map a group name to a list of scopes")
        self.scopes_by_group = {
            str(group): _names(scopes, f"scopes_by_group[{group!r}]")
            for group, scopes in (scopes_by_group or {}).items()
        }
        for scopes in self.scopes_by_group.values():
            for scope in scopes:
                if any(char.isspace() for char in scope):
                    raise ConfigError(f"scope {scope!r} contains whitespace")

    @classmethod
    def from_policy(
        cls,
        policy: Policy,
        *,
        copy_attributes: Iterable[str] | None = None,
        scopes_by_group: Mapping[str, Iterable[str]] | None = None,
        suppress_claims: Iterable[str] = (),
    ) -> PreTokenGenerationTrigger:
        """A trigger for ``policy``: ``copy_attributes=None`` copies every user attribute the policy
        compares that access tokens lack (``custom:tenant_id`` in the tenant-isolation example)."""
        if copy_attributes is None:
            lacking = claims_access_tokens_lack(policy)
            copy_attributes = [name for name in lacking if name not in TRIGGER_RESERVED_CLAIMS]
        return cls(
            copy_attributes=copy_attributes, scopes_by_group=scopes_by_group, suppress_claims=suppress_claims
        )

    def __call__(self, event: Any, context: object = None) -> Any:
        """Fill ``event["response"]`` and return the event, as Cognito expects of a Lambda trigger."""
        details = self.response(event)
        event["response"] = {"claimsAndScopeOverrideDetails": details}
        return event

    def response(self, event: Any) -> dict[str, Any]:
        """The ``claimsAndScopeOverrideDetails`` for ``event``; EventError if it is not a V2/V3 event."""
        if not isinstance(event, dict):
            raise EventError("a pre token generation event is a JSON object", reason="invalid_trigger_event")
        version = str(event.get("version", ""))
        source = event.get("triggerSource")
        if version not in ("2", "3"):
            raise EventError(
                f"pre token generation event version {version or '?'}: this handler answers versions 2 and 3 "
                "(configure the trigger's event version as V2_0 or V3_0)",
                reason="invalid_trigger_event",
            )
        if source == CLIENT_CREDENTIALS_SOURCE:
            if version != "3":
                raise EventError(
                    "client credentials come only with event version 3", reason="invalid_trigger_event"
                )
            # No user: nothing to copy, no groups. Suppressing still applies.
            return {"accessTokenGeneration": self._access(claims={}, scopes=[])}
        if source not in _USER_SOURCES:
            raise EventError(f"unknown triggerSource {source!r}", reason="invalid_trigger_event")
        request = event.get("request")
        if not isinstance(request, dict):
            raise EventError("the event has no request object", reason="invalid_trigger_event")
        attributes = request.get("userAttributes") or {}
        groups = (request.get("groupConfiguration") or {}).get("groupsToOverride") or []
        if not isinstance(attributes, dict) or not isinstance(groups, list):
            raise EventError(
                "userAttributes or groupConfiguration is malformed", reason="invalid_trigger_event"
            )
        claims = {
            name: attributes[name]
            for name in self.copy_attributes
            if isinstance(attributes.get(name), str) and attributes[name] != ""
        }
        scopes: list[str] = []
        for group in groups:
            scopes.extend(self.scopes_by_group.get(group, ()) if isinstance(group, str) else ())
        return {
            "idTokenGeneration": {},
            "accessTokenGeneration": self._access(claims=claims, scopes=list(dict.fromkeys(scopes))),
        }

    def _access(self, *, claims: dict[str, str], scopes: list[str]) -> dict[str, Any]:
        access: dict[str, Any] = {}
        if claims:
            access["claimsToAddOrOverride"] = claims
        if self.suppress_claims:
            access["claimsToSuppress"] = list(self.suppress_claims)
        if scopes:
            access["scopesToAdd"] = scopes
        return access

    def __repr__(self) -> str:
        return (
            f"PreTokenGenerationTrigger(copy_attributes={list(self.copy_attributes)!r}, "
            f"scopes_by_group={self.scopes_by_group!r}, suppress_claims={list(self.suppress_claims)!r})"
        )
