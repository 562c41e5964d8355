"""Who the caller is: the ``Principal`` built from verified claims, and claim normalization.

Claims arrive in two shapes: as JSON types from a verified token, and as strings when API Gateway has
already verified the token and forwards the claims to a handler (``"[admin support]"`` for a list,
``"true"`` for a boolean). Normalization lives here so every adapter and the policy engine see one shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["Principal", "normalize_bool", "normalize_string_list"]


def normalize_string_list(value: Any, *, separators: str = ",") -> tuple[str, ...]:
    """Return a claim that should be a list of strings as a tuple of non-empty strings.

    Accepts a JSON list (non-string items are dropped, never coerced: a group named ``1`` in a token is a
    type error upstream, not an admin), ``None``, and the string shapes API Gateway forwards:
    ``"a,b"``, ``"[a b]"``, ``"[a, b]"`` and ``"a b"``. ``separators`` names extra split characters besides
    whitespace.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        for sep in separators:
            text = text.replace(sep, " ")
        return tuple(dict.fromkeys(part for part in text.split() if part))
    if isinstance(value, (list, tuple)):
        return tuple(dict.fromkeys(item for item in value if isinstance(item, str) and item))
    return ()


def normalize_bool(value: Any) -> Any:
    """``"true"``/``"false"`` (any case) become booleans; anything else is returned unchanged."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return value


_BOOLEAN_CLAIMS = ("email_verified", "phone_number_verified")


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller.

    ``groups`` and ``scopes`` are always tuples (possibly empty); ``claims`` is a read-only mapping of every
    claim, ``custom:*`` included, with the well-known boolean claims normalized.
    """

    sub: str
    username: str | None = None
    groups: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    token_use: str | None = None
    client_id: str | None = None
    issuer: str | None = None
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Build a principal from a claims mapping, normalizing the shapes described in the module doc."""
        normalized: dict[str, Any] = dict(claims)
        for name in _BOOLEAN_CLAIMS:
            if name in normalized:
                normalized[name] = normalize_bool(normalized[name])
        groups = normalize_string_list(normalized.get("cognito:groups"))
        scopes = normalize_string_list(normalized.get("scope"), separators="")
        token_use = normalized.get("token_use")
        client_id = normalized.get("client_id")
        if client_id is None and token_use == "id":
            client_id = normalized.get("aud")
        username = normalized.get("username", normalized.get("cognito:username"))
        sub = normalized.get("sub")
        issuer = normalized.get("iss")
        return cls(
            sub=sub if isinstance(sub, str) else "",
            username=username if isinstance(username, str) else None,
            groups=groups,
            scopes=scopes,
            token_use=token_use if isinstance(token_use, str) else None,
            client_id=client_id if isinstance(client_id, str) else None,
            issuer=issuer if isinstance(issuer, str) else None,
            claims=MappingProxyType(normalized),
        )

    def has_groups(self, groups: Iterable[str], *, all_of: bool = False) -> bool:
        """Any-of (default) or all-of membership test."""
        wanted = set(groups)
        have = set(self.groups)
        return wanted <= have if all_of else bool(wanted & have)

    def has_scopes(self, scopes: Iterable[str], *, all_of: bool = False) -> bool:
        """Any-of (default) or all-of scope test."""
        wanted = set(scopes)
        have = set(self.scopes)
        return wanted <= have if all_of else bool(wanted & have)
