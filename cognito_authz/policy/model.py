"""The policy file schema (pydantic): what a policy document may contain, and load errors that name the
file, the rule id and the field.

Every model forbids unknown keys, because a typo (``grups``, ``unles``) must never silently widen or
narrow access. Scalars are strict (no ``1`` -> ``"1"`` coercion: a group called ``1`` is a mistake, not a
group). Checks that need more than one field (claim templates against route parameters, unique ids)
run after the schema in :func:`parse_document`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from cognito_authz.errors import PolicyError
from cognito_authz.policy.routes import Route

__all__ = [
    "ClaimScalar",
    "ClaimSpec",
    "Condition",
    "PolicyDocument",
    "Rule",
    "parse_document",
    "template_param",
]

NonEmptyStr = Annotated[str, StringConstraints(strict=True, min_length=1)]
#: One value a claim condition compares with: a string (or ``"{param}"`` / ``"*"``), a boolean or an int.
ClaimScalar = str | bool | int
#: A claim condition: a scalar (equals) or a non-empty tuple of scalars (one of).
ClaimSpec = ClaimScalar | tuple[ClaimScalar, ...]

_CUSTOM_ERRORS = frozenset({"invalid_route", "route_literal_brace", "route_type", "claim_spec"})
_TEMPLATE = re.compile(r"\{([A-Za-z0-9_][A-Za-z0-9_-]*)\}")


def _one_or_many(value: Any) -> Any:
    """Let ``groups: admin`` stand for ``groups: [admin]``; lists stay as they are for validation."""
    return (value,) if isinstance(value, str) else value


NameList = Annotated[tuple[NonEmptyStr, ...], BeforeValidator(_one_or_many), Field(min_length=1)]
TokenUseList = Annotated[
    tuple[Literal["id", "access"], ...], BeforeValidator(_one_or_many), Field(min_length=1)
]


def _parse_route_field(value: Any) -> Route:
    if isinstance(value, Route):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("route_type", "a route must be a string such as 'GET /orders/{orderId}'")
    try:
        return Route.parse(value)
    except PolicyError as exc:
        # Keep our reason code as the pydantic error type so the load error carries it.
        raise PydanticCustomError(exc.reason, "{message}", {"message": exc.message}) from exc


def _parse_claim_spec(value: Any) -> ClaimSpec:
    # One hand-written check instead of a pydantic union, so a bad value gives one clear error rather
    # than one per union member.
    if _is_claim_scalar(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, list | tuple) and value and all(_is_claim_scalar(item) for item in value):
        return tuple(value)
    raise PydanticCustomError(
        "claim_spec",
        "a claim condition must be a non-empty string, an integer, a boolean or a non-empty list of "
        "them (got {shown})",
        {"shown": _shown(value)},
    )


def _is_claim_scalar(value: object) -> bool:
    return isinstance(value, bool | int) or (isinstance(value, str) and value != "")


def _shown(value: object) -> str:
    try:
        shown = repr(value)
    except Exception:  # RecursionError on deeply nested input, or a __repr__ that raises
        return f"<{type(value).__name__}>"
    return shown if len(shown) <= 60 else shown[:57] + "..."


ClaimField = Annotated[ClaimSpec, PlainValidator(_parse_claim_spec)]

RouteField = Annotated[Route, PlainValidator(_parse_route_field), PlainSerializer(lambda route: route.text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """A set of conditions that must all hold. Lists of names are any-of unless the key says ``all_``.

    ``claims`` maps a claim name to a scalar (equals), a list (one of), ``"{param}"`` (equals that path
    parameter) or ``"*"`` (present and non-empty).
    """

    groups: NameList | None = None
    all_groups: NameList | None = None
    scopes: NameList | None = None
    all_scopes: NameList | None = None
    token_use: TokenUseList | None = None
    client_id: NameList | None = None
    claims: Annotated[dict[NonEmptyStr, ClaimField], Field(min_length=1)] | None = None

    def is_empty(self) -> bool:
        """True when no condition is named at all."""
        return all(getattr(self, name) is None for name in type(self).model_fields)

    def group_names(self) -> tuple[str, ...]:
        """Every group this condition mentions (``groups``, ``all_groups`` and ``cognito:groups`` claims)."""
        names: list[str] = [*(self.groups or ()), *(self.all_groups or ())]
        spec = (self.claims or {}).get("cognito:groups")
        values = spec if isinstance(spec, tuple) else (spec,) if spec is not None else ()
        names.extend(v for v in values if isinstance(v, str) and v != "*" and template_param(v) is None)
        return tuple(dict.fromkeys(names))


class Rule(_Strict):
    """One rule: ``effect`` on ``routes`` when every ``when`` condition holds, skipped when every
    ``unless`` condition holds."""

    id: NonEmptyStr
    effect: Literal["allow", "deny"] = "allow"
    routes: Annotated[tuple[RouteField, ...], BeforeValidator(_one_or_many), Field(min_length=1)]
    when: Condition | None = None
    unless: Condition | None = None
    description: str | None = None


class PolicyDocument(_Strict):
    """A whole policy file."""

    version: Literal[1]
    description: str | None = None
    groups: Annotated[tuple[NonEmptyStr, ...], Field(min_length=1)] | None = None
    rules: tuple[Rule, ...]


def template_param(value: object) -> str | None:
    """The parameter name if ``value`` is a ``"{param}"`` claim template, else ``None``."""
    if isinstance(value, str):
        matched = _TEMPLATE.fullmatch(value)
        if matched:
            return matched.group(1)
    return None


def parse_document(data: object, source: str) -> PolicyDocument:
    """Validate ``data`` (already parsed from a file or given as a dict) into a :class:`PolicyDocument`.

    Raises :class:`PolicyError` naming ``source``, the rule id and the field of the first problem; the
    message lists every problem found.
    """
    if not isinstance(data, Mapping):
        raise PolicyError(
            f"a policy must be a mapping with 'version' and 'rules', not {type(data).__name__}",
            reason="policy_schema",
            source=source,
        )
    try:
        document = PolicyDocument.model_validate(dict(data))
    except ValidationError as exc:
        raise _schema_error(exc, data, source) from None
    _check_semantics(document, source)
    return document


def _schema_error(exc: ValidationError, data: Mapping[str, Any], source: str) -> PolicyError:
    problems: list[tuple[str | None, str, str, str]] = []
    fields_seen: set[str] = set()
    for error in exc.errors():
        loc = tuple(error["loc"])
        rule_id, field = _locate(loc, data)
        if field in fields_seen:
            continue
        fields_seen.add(field)
        problems.append((rule_id, field, _describe(error, loc), error["type"]))
    rule_id, field, message, kind = problems[0]
    if len(problems) > 1:
        more = "; ".join(
            f"{f'rule {rid!r} ' if rid else ''}{fld}: {msg}" for rid, fld, msg, _ in problems[1:6]
        )
        extra = f" (+{len(problems) - 6} more)" if len(problems) > 6 else ""
        message = f"{message} (also: {more}{extra})"
    reason = kind if kind in ("invalid_route", "route_literal_brace") else "policy_schema"
    return PolicyError(message, reason=reason, source=source, rule_id=rule_id, field=field)


def _locate(loc: tuple[Any, ...], data: Mapping[str, Any]) -> tuple[str | None, str]:
    rule_id: str | None = None
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules")
        if isinstance(rules, list | tuple) and loc[1] < len(rules):
            raw = rules[loc[1]]
            if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
                rule_id = raw["id"]
    return rule_id, _field_path(loc)


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.startswith(("function-", "tagged-union", "json-or-python")):
            # pydantic names union members and validator wrappers in locations; users never wrote them
            continue
        elif part in ("str", "int", "bool", "tuple[...]", "constrained-str"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


def _describe(error: Any, loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        hint = _suggest(str(key), _known_keys(loc))
        return f"unknown key {key!r}{hint}"
    if kind == "missing":
        return "required key is missing"
    if kind in _CUSTOM_ERRORS:
        return str(error["msg"])
    # pydantic speaks of tuples; policy authors write lists
    message = str(error["msg"]).replace("a valid tuple", "a list")
    return f"{message} (got {_shown(error.get('input'))})"


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    parent = [part for part in loc[:-1] if not isinstance(part, int)]
    if not parent:
        return list(PolicyDocument.model_fields)
    if parent[-1] in ("when", "unless"):
        return list(Condition.model_fields)
    if parent == ["rules"]:
        return list(Rule.model_fields)
    return []


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_semantics(document: PolicyDocument, source: str) -> None:
    seen: dict[str, int] = {}
    for index, rule in enumerate(document.rules):
        if rule.id in seen:
            raise PolicyError(
                f"duplicate rule id (also rules[{seen[rule.id]}]); ids must be unique",
                reason="duplicate_rule_id",
                source=source,
                rule_id=rule.id,
                field=f"rules[{index}].id",
            )
        seen[rule.id] = index
        if rule.unless is not None and rule.unless.is_empty():
            raise PolicyError(
                "an empty 'unless' would skip the rule always; remove it or name a condition",
                reason="policy_schema",
                source=source,
                rule_id=rule.id,
                field=f"rules[{index}].unless",
            )
        for part in ("when", "unless"):
            condition: Condition | None = getattr(rule, part)
            if condition is None or condition.claims is None:
                continue
            for claim, spec in condition.claims.items():
                _check_claim_spec(rule, index, f"{part}.claims.{claim}", spec, source)


def _check_claim_spec(rule: Rule, index: int, field: str, spec: object, source: str) -> None:
    where = {"source": source, "rule_id": rule.id, "field": f"rules[{index}].{field}"}
    values = spec if isinstance(spec, tuple) else (spec,)
    for value in values:
        if not isinstance(value, str):
            continue
        if value == "*":
            if isinstance(spec, tuple):
                raise PolicyError(
                    "'*' (claim present) cannot be one option of a list; use it alone",
                    reason="policy_schema",
                    **where,
                )
            continue
        if value.startswith("{") and value.endswith("}"):
            name = template_param(value)
            if name is None:
                raise PolicyError(
                    f"{value!r} is not a valid path-parameter template (write '{{name}}')",
                    reason="unknown_path_param",
                    **where,
                )
            for route in rule.routes:
                if name not in route.params:
                    raise PolicyError(
                        f"template {value!r} names a parameter that route {route.text!r} does not have",
                        reason="unknown_path_param",
                        **where,
                    )
