"""Loading a policy document: validate parsed data into :class:`~cognito_authz.policy.model.PolicyDocument`,
with load errors that name the file, the rule id and the field.

Every key is checked and unknown keys are rejected, because a typo (``grups``, ``unles``) must never
silently widen or narrow access. Scalars are strict (no ``1`` -> ``"1"`` coercion: a group called ``1`` is
a mistake, not a group). Checks that need more than one field (claim templates against route
parameters, unique ids) run after the schema in :func:`parse_document`.

Validation has two paths with one meaning. A hand-written validator accepts the common case (plain
dicts, lists and strings as YAML, JSON and TOML produce them) without importing pydantic, which would
cost a Lambda cold start more than all the rest of the library. Anything it is not certain about,
every invalid document included, goes to the pydantic schema in :mod:`cognito_authz.policy._schema`,
which decides and words the error. The fast path only ever accepts what the schema accepts, with the
same result (a differential property test holds it to that). Both build :mod:`~cognito_authz.policy.model`
classes; neither ``model`` nor ``_schema`` imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cognito_authz.errors import PolicyError
from cognito_authz.policy.model import (
    CONDITION_FIELDS,
    DOCUMENT_FIELDS,
    RULE_FIELDS,
    ClaimSpec,
    Condition,
    PolicyDocument,
    Rule,
    claim_spec,
    template_param,
)
from cognito_authz.policy.routes import Route

__all__ = ["Unsure", "fast_document", "parse_document"]

_CONDITION_KEY_SET = frozenset(CONDITION_FIELDS)
_RULE_KEYS = frozenset(RULE_FIELDS)
_DOCUMENT_KEYS = frozenset(DOCUMENT_FIELDS)
_NAME_LISTS = ("groups", "all_groups", "scopes", "all_scopes", "client_id")


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
        document = fast_document(data)
    except Unsure:
        from cognito_authz.policy import _schema  # the authority, loaded only when needed

        document = _schema.validate(data, source)
    _check_semantics(document, source)
    return document


# --- the fast path -----------------------------------------------------------------------------------


class Unsure(Exception):
    """The fast validator cannot vouch for this input: the pydantic schema decides (and explains)."""


def fast_document(data: Mapping[str, Any]) -> PolicyDocument:
    """Validate the common shapes by hand; raise :class:`Unsure` for anything else.

    Accepts only what the pydantic schema accepts, producing an equal document: exact ``dict``, ``list``,
    ``tuple``, ``str``, ``int`` and ``bool`` types (what parsers produce), nothing coerced.
    """
    raw = dict(data)
    if not raw.keys() <= _DOCUMENT_KEYS:
        raise Unsure
    version = raw.get("version")
    if type(version) is not int or version != 1:
        raise Unsure
    rules = raw.get("rules")
    if type(rules) is not list and type(rules) is not tuple:
        raise Unsure
    groups = raw.get("groups")
    api = raw.get("api")
    token_use = raw.get("token_use")
    if token_use is not None and token_use not in ("id", "access"):
        raise Unsure
    return PolicyDocument(
        version=1,
        description=_optional_text(raw.get("description")),
        groups=None if groups is None else _names(groups, shorthand=False),
        token_use=token_use,
        rules=tuple(_fast_rule(rule) for rule in rules),
        api=None if api is None else _fast_routes(api),
    )


def _optional_text(value: object) -> str | None:
    if value is None or type(value) is str:
        return value
    raise Unsure


def _names(value: object, *, shorthand: bool = True) -> tuple[str, ...]:
    # A single string stands for a one-item list where the schema says so (conditions, not `groups:`).
    if type(value) is str and shorthand:
        if value:
            return (value,)
        raise Unsure
    if (type(value) is list or type(value) is tuple) and value:
        for item in value:
            if type(item) is not str or not item:
                raise Unsure
        return tuple(value)
    raise Unsure


def _fast_rule(raw: object) -> Rule:
    if type(raw) is not dict or not raw.keys() <= _RULE_KEYS:
        raise Unsure
    rule_id = raw.get("id")
    if type(rule_id) is not str or not rule_id:
        raise Unsure
    effect = raw.get("effect", "allow")
    if type(effect) is not str or (effect != "allow" and effect != "deny"):
        raise Unsure
    routes = raw.get("routes")
    items = (routes,) if type(routes) is str else routes
    if (type(items) is not list and type(items) is not tuple) or not items:
        raise Unsure
    return Rule(
        id=rule_id,
        effect="deny" if effect == "deny" else "allow",
        routes=_fast_routes(items),
        when=_fast_condition(raw.get("when")),
        unless=_fast_condition(raw.get("unless")),
        description=_optional_text(raw.get("description")),
    )


def _fast_routes(items: object) -> tuple[Route, ...]:
    """A list of route strings (``routes:`` of a rule, or the ``api:`` table; it may be empty)."""
    if type(items) is not list and type(items) is not tuple:
        raise Unsure
    parsed: list[Route] = []
    for item in items:
        if type(item) is not str:
            raise Unsure
        try:
            parsed.append(Route.parse(item))
        except PolicyError:
            raise Unsure from None
    return tuple(parsed)


def _fast_condition(raw: object) -> Condition | None:
    if raw is None:
        return None
    if type(raw) is not dict or not raw.keys() <= _CONDITION_KEY_SET:
        raise Unsure
    lists: dict[str, tuple[str, ...] | None] = {}
    for name in _NAME_LISTS:
        value = raw.get(name)
        lists[name] = None if value is None else _names(value)
    token_use = raw.get("token_use")
    uses = None if token_use is None else _names(token_use)
    if uses is not None and not all(use == "id" or use == "access" for use in uses):
        raise Unsure
    return Condition(
        groups=lists["groups"],
        all_groups=lists["all_groups"],
        scopes=lists["scopes"],
        all_scopes=lists["all_scopes"],
        token_use=uses,  # type: ignore[arg-type]  # checked just above
        client_id=lists["client_id"],
        claims=_fast_claims(raw.get("claims")),
    )


def _fast_claims(raw: object) -> dict[str, ClaimSpec] | None:
    if raw is None:
        return None
    if type(raw) is not dict or not raw:
        raise Unsure
    out: dict[str, ClaimSpec] = {}
    for name, value in raw.items():
        if type(name) is not str or not name:
            raise Unsure
        spec = claim_spec(value)
        if spec is None:
            raise Unsure
        out[name] = spec
    return out


# --- checks across fields ----------------------------------------------------------------------------


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
