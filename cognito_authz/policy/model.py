"""The policy document model: what a policy file means once loaded, as frozen value classes (the typed,
public view other layers read a policy through; plain slotted classes, not dataclasses, to keep the
cold start short: see :mod:`cognito_authz._frozen`).

Loading and validation live in :mod:`cognito_authz.policy.parse` (the fast hand-written path) and
:mod:`cognito_authz.policy._schema` (pydantic, the authority); both build these classes, and this module
imports neither, so the dependency runs one way.
"""

from __future__ import annotations

import re
from typing import Literal, NoReturn

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.policy.routes import Route

__all__ = [
    "CONDITION_FIELDS",
    "DOCUMENT_FIELDS",
    "RULE_FIELDS",
    "ClaimScalar",
    "ClaimSpec",
    "Condition",
    "PolicyDocument",
    "Rule",
    "claim_spec",
    "template_param",
]

#: One value a claim condition compares with: a string (or ``"{param}"`` / ``"*"``), a boolean or an int.
ClaimScalar = str | bool | int
#: A claim condition: a scalar (equals) or a non-empty tuple of scalars (one of).
ClaimSpec = ClaimScalar | tuple[ClaimScalar, ...]

_TEMPLATE = re.compile(r"\{([A-Za-z0-9_][A-Za-z0-9_-]*)\}")


class _Model(Frozen):
    """Refuses assignment with a message that says *why*: policies are shared by threads and compiled
    once, so they never change after loading."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> NoReturn:
        _refuse_assignment(self, name)

    def __delattr__(self, name: str) -> NoReturn:
        _refuse_assignment(self, name)


def _refuse_assignment(self: object, name: str) -> NoReturn:
    # The error a frozen dataclass raises, imported on misuse only (never at start-up).
    from dataclasses import FrozenInstanceError

    raise FrozenInstanceError(f"{type(self).__name__} is frozen: cannot assign to field {name!r}")


#: The fields of each model class, in order: what the parser accepts as keys and what exports read.
CONDITION_FIELDS = ("groups", "all_groups", "scopes", "all_scopes", "token_use", "client_id", "claims")
RULE_FIELDS = ("id", "effect", "routes", "when", "unless", "description")
DOCUMENT_FIELDS = ("version", "description", "groups", "token_use", "rules", "api")


class Condition(_Model):
    """A set of conditions that must all hold. Lists of names are any-of unless the key says ``all_``.

    ``claims`` maps a claim name to a scalar (equals), a list (one of), ``"{param}"`` (equals that path
    parameter) or ``"*"`` (present and non-empty).
    """

    __slots__ = CONDITION_FIELDS
    groups: tuple[str, ...] | None
    all_groups: tuple[str, ...] | None
    scopes: tuple[str, ...] | None
    all_scopes: tuple[str, ...] | None
    token_use: tuple[Literal["id", "access"], ...] | None
    client_id: tuple[str, ...] | None
    claims: dict[str, ClaimSpec] | None

    def __init__(
        self,
        *,
        groups: tuple[str, ...] | None = None,
        all_groups: tuple[str, ...] | None = None,
        scopes: tuple[str, ...] | None = None,
        all_scopes: tuple[str, ...] | None = None,
        token_use: tuple[Literal["id", "access"], ...] | None = None,
        client_id: tuple[str, ...] | None = None,
        claims: dict[str, ClaimSpec] | None = None,
    ) -> None:
        set_field(self, "groups", groups)
        set_field(self, "all_groups", all_groups)
        set_field(self, "scopes", scopes)
        set_field(self, "all_scopes", all_scopes)
        set_field(self, "token_use", token_use)
        set_field(self, "client_id", client_id)
        set_field(self, "claims", claims)

    def is_empty(self) -> bool:
        """True when no condition is named at all."""
        return all(getattr(self, name) is None for name in _CONDITION_KEYS)

    def group_names(self) -> tuple[str, ...]:
        """Every group this condition mentions (``groups``, ``all_groups`` and ``cognito:groups`` claims)."""
        names: list[str] = [*(self.groups or ()), *(self.all_groups or ())]
        spec = (self.claims or {}).get("cognito:groups")
        values = spec if isinstance(spec, tuple) else (spec,) if spec is not None else ()
        names.extend(v for v in values if isinstance(v, str) and v != "*" and template_param(v) is None)
        return tuple(dict.fromkeys(names))


class Rule(_Model):
    """One rule: ``effect`` on ``routes`` when every ``when`` condition holds, skipped when every
    ``unless`` condition holds."""

    __slots__ = RULE_FIELDS
    id: str
    effect: Literal["allow", "deny"]
    routes: tuple[Route, ...]
    when: Condition | None
    unless: Condition | None
    description: str | None

    def __init__(
        self,
        *,
        id: str,
        effect: Literal["allow", "deny"] = "allow",
        routes: tuple[Route, ...],
        when: Condition | None = None,
        unless: Condition | None = None,
        description: str | None = None,
    ) -> None:
        set_field(self, "id", id)
        set_field(self, "effect", effect)
        set_field(self, "routes", routes)
        set_field(self, "when", when)
        set_field(self, "unless", unless)
        set_field(self, "description", description)


class PolicyDocument(_Model):
    """A whole policy file. ``api`` is the API's route table (``None`` when the file has no ``api:``)."""

    __slots__ = DOCUMENT_FIELDS
    version: Literal[1]
    description: str | None
    groups: tuple[str, ...] | None
    #: The tokens the policy is written for ("id" or "access"); lint then knows which claims exist.
    token_use: Literal["id", "access"] | None
    rules: tuple[Rule, ...]
    api: tuple[Route, ...] | None

    def __init__(
        self,
        *,
        version: Literal[1],
        description: str | None = None,
        groups: tuple[str, ...] | None = None,
        token_use: Literal["id", "access"] | None = None,
        rules: tuple[Rule, ...],
        api: tuple[Route, ...] | None = None,
    ) -> None:
        set_field(self, "version", version)
        set_field(self, "description", description)
        set_field(self, "groups", groups)
        set_field(self, "token_use", token_use)
        set_field(self, "rules", rules)
        set_field(self, "api", api)


_CONDITION_KEYS = CONDITION_FIELDS


def template_param(value: object) -> str | None:
    """The parameter name if ``value`` is a ``"{param}"`` claim template, else ``None``."""
    if isinstance(value, str):
        matched = _TEMPLATE.fullmatch(value)
        if matched:
            return matched.group(1)
    return None


def _is_claim_scalar(value: object) -> bool:
    return isinstance(value, bool | int) or (isinstance(value, str) and value != "")


def claim_spec(value: object) -> ClaimSpec | None:
    """``value`` as a claim condition (a scalar as is, a non-empty list as a tuple), ``None`` if invalid."""
    if _is_claim_scalar(value):
        return value  # type: ignore[return-value]
    if isinstance(value, list | tuple) and value and all(_is_claim_scalar(item) for item in value):
        return tuple(value)
    return None
