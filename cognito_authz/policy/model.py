"""The policy document model: what a policy file means once loaded, as frozen dataclasses (the typed,
public view other layers read a policy through).

Loading and validation live in :mod:`cognito_authz.policy.parse` (the fast hand-written path) and
:mod:`cognito_authz.policy._schema` (pydantic, the authority); both build these classes, and this module
imports neither, so the dependency runs one way.
"""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError, dataclass, fields
from typing import Any, Literal

from cognito_authz.policy.routes import Route

__all__ = [
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


def _refuse_assignment(self: object, name: str, value: object = None) -> None:
    raise FrozenInstanceError(f"{type(self).__name__} is frozen: cannot assign to field {name!r}")


def _frozen_message(cls: type[Any]) -> type[Any]:
    # The dataclass default says only "cannot assign to field"; say *why* (policies are shared by
    # threads and compiled once, so they never change after loading).
    setattr(cls, "__setattr__", _refuse_assignment)  # noqa: B010 - dataclass forbids defining it inline
    setattr(cls, "__delattr__", _refuse_assignment)  # noqa: B010
    return cls


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """A set of conditions that must all hold. Lists of names are any-of unless the key says ``all_``.

    ``claims`` maps a claim name to a scalar (equals), a list (one of), ``"{param}"`` (equals that path
    parameter) or ``"*"`` (present and non-empty).
    """

    groups: tuple[str, ...] | None = None
    all_groups: tuple[str, ...] | None = None
    scopes: tuple[str, ...] | None = None
    all_scopes: tuple[str, ...] | None = None
    token_use: tuple[Literal["id", "access"], ...] | None = None
    client_id: tuple[str, ...] | None = None
    claims: dict[str, ClaimSpec] | None = None

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One rule: ``effect`` on ``routes`` when every ``when`` condition holds, skipped when every
    ``unless`` condition holds."""

    id: str
    effect: Literal["allow", "deny"] = "allow"
    routes: tuple[Route, ...]
    when: Condition | None = None
    unless: Condition | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyDocument:
    """A whole policy file. ``api`` is the API's route table (``None`` when the file has no ``api:``)."""

    version: Literal[1]
    description: str | None = None
    groups: tuple[str, ...] | None = None
    #: The tokens the policy is written for ("id" or "access"); lint then knows which claims exist.
    token_use: Literal["id", "access"] | None = None
    rules: tuple[Rule, ...]
    api: tuple[Route, ...] | None = None


for _cls in (Condition, Rule, PolicyDocument):
    _frozen_message(_cls)

_CONDITION_KEYS = tuple(field.name for field in fields(Condition))


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
