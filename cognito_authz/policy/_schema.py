"""The policy file schema as pydantic models: the authority on what is valid, and the author of load errors.

``parse.parse_document`` validates the common case by hand (a Lambda cold start must not import pydantic
and build these models: that alone costs more than importing PyJWT). Whenever the hand-written validator
is not certain, for instance on any invalid input, this module decides, and a rejection becomes a
:class:`PolicyError` naming the file, the rule id and the field. The models mirror
``model.PolicyDocument``/``Rule``/``Condition`` field for field and keep their class names, which pydantic
quotes in some messages.

Every model forbids unknown keys, because a typo (``grups``, ``unles``) must never silently widen or
narrow access. Scalars are strict (no ``1`` -> ``"1"`` coercion: a group called ``1`` is a mistake, not a
group).
"""

from __future__ import annotations

import difflib
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
from cognito_authz.policy import model
from cognito_authz.policy.routes import Route

__all__ = ["validate"]

NonEmptyStr = Annotated[str, StringConstraints(strict=True, min_length=1)]

_CUSTOM_ERRORS = frozenset({"invalid_route", "route_literal_brace", "route_type", "claim_spec"})


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


def _parse_claim_spec(value: Any) -> model.ClaimSpec:
    # One hand-written check instead of a pydantic union, so a bad value gives one clear error rather
    # than one per union member.
    spec = model.claim_spec(value)
    if spec is None:
        raise PydanticCustomError(
            "claim_spec",
            "a claim condition must be a non-empty string, an integer, a boolean or a non-empty list of "
            "them (got {shown})",
            {"shown": _shown(value)},
        )
    return spec


def _shown(value: object) -> str:
    try:
        shown = repr(value)
    except Exception:  # RecursionError on deeply nested input, or a __repr__ that raises
        return f"<{type(value).__name__}>"
    return shown if len(shown) <= 60 else shown[:57] + "..."


ClaimField = Annotated[model.ClaimSpec, PlainValidator(_parse_claim_spec)]

RouteField = Annotated[Route, PlainValidator(_parse_route_field), PlainSerializer(lambda route: route.text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """Schema of :class:`cognito_authz.policy.model.Condition`."""

    groups: NameList | None = None
    all_groups: NameList | None = None
    scopes: NameList | None = None
    all_scopes: NameList | None = None
    token_use: TokenUseList | None = None
    client_id: NameList | None = None
    claims: Annotated[dict[NonEmptyStr, ClaimField], Field(min_length=1)] | None = None


class Rule(_Strict):
    """Schema of :class:`cognito_authz.policy.model.Rule`."""

    id: NonEmptyStr
    effect: Literal["allow", "deny"] = "allow"
    routes: Annotated[tuple[RouteField, ...], BeforeValidator(_one_or_many), Field(min_length=1)]
    when: Condition | None = None
    unless: Condition | None = None
    description: str | None = None


class PolicyDocument(_Strict):
    """Schema of :class:`cognito_authz.policy.model.PolicyDocument`."""

    version: Literal[1]
    description: str | None = None
    groups: Annotated[tuple[NonEmptyStr, ...], Field(min_length=1)] | None = None
    token_use: Literal["id", "access"] | None = None
    rules: tuple[Rule, ...]
    api: tuple[RouteField, ...] | None = None


def validate(data: Mapping[str, Any], source: str) -> model.PolicyDocument:
    """Validate with pydantic; the document as ``model`` classes, or the first problem as a PolicyError."""
    try:
        document = PolicyDocument.model_validate(dict(data))
    except ValidationError as exc:
        raise _schema_error(exc, data, source) from None
    return model.PolicyDocument(
        version=document.version,
        description=document.description,
        groups=document.groups,
        token_use=document.token_use,
        rules=tuple(
            model.Rule(
                id=rule.id,
                effect=rule.effect,
                routes=rule.routes,
                when=_condition(rule.when),
                unless=_condition(rule.unless),
                description=rule.description,
            )
            for rule in document.rules
        ),
        api=document.api,
    )


def _condition(condition: Condition | None) -> model.Condition | None:
    if condition is None:
        return None
    return model.Condition(
        groups=condition.groups,
        all_groups=condition.all_groups,
        scopes=condition.scopes,
        all_scopes=condition.all_scopes,
        token_use=condition.token_use,
        client_id=condition.client_id,
        claims=condition.claims,
    )


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
