"""A policy as a Cedar schema and policy set with the same meaning, and the Cedar request (entities,
action, resource) that stands for one of our requests.

Cedar (https://docs.cedarpolicy.com/) is the policy language of Amazon Verified Permissions. Its
combining algorithm is ours: a ``forbid`` that applies overrides every ``permit``, and nothing applying
is a deny. So each rule becomes one Cedar policy per route (``permit`` for allow rules, ``forbid`` for
deny rules), with the route match and the ``when`` conditions in the Cedar ``when`` clause and the
``unless`` conditions in the Cedar ``unless`` clause (Cedar skips a policy whose ``unless`` holds, as we
skip a rule when every ``unless`` condition holds).

The model (one namespace, :data:`DEFAULT_NAMESPACE` unless named):

- Principal ``User``: ``groups`` and ``scopes`` (sets), ``token_use`` and ``client_id`` (optional
  strings), ``claims`` (a record: for each claim the policy names, the set of its values as text, the
  way our claim comparison reads them: integers in decimal, booleans as ``true``/``false``, each item of
  a list claim), ``claimFlags`` (for claims compared with a boolean literal, the values that read as a
  boolean, ``"TRUE"`` included) and ``presentClaims`` (names of the claims present and non-empty).
- Actions: the seven HTTP verbs a route may name, the action group ``ANY`` holding them (for ``ANY``
  routes), and ``WebSocket`` for a route key such as ``$connect``.
- Resource ``Path``: the API-relative request path with its path parameters, position by position:
  ``depth`` (number of segments), ``seg0``, ``seg1``... (each canonical segment, ``""`` past the end:
  a canonical segment is never empty) and ``rest<i>`` (segments ``i..`` joined by ``/``, the value of a
  greedy ``{name+}`` parameter starting at ``i``); ``routeKey`` is the WebSocket route key (else ``""``).
  A route template becomes a test on these (``resource.depth == 3 && resource.seg0 == "tenants"``), and
  a claim compared with a path parameter becomes ``principal.claims["custom:tenant_id"].contains(
  resource.seg1)``; a comment above each policy names its parameters' positions.

Why positions and not the route's name: our rule routes are patterns over requests, several can match
one request with different parameter names, and a rule route can match part of an API route's requests
(``GET /orders/{id}`` inside ``ANY /{proxy+}``). Positions carry every parameter of every matching route
at once, so the Cedar policies decide every request exactly as :meth:`Policy.decide` does; a
differential test (``tests/test_cedar_export.py``) holds them to it with ``cedarpy``.

What is refused (:class:`PolicyError`, reason ``cedar_unexportable``), never exported weaker: text that
Cedar cannot carry (strings with lone surrogates, which no YAML, JSON or TOML file can hold). Requests
with a verb outside the standard seven, or a path no route can match, have no Cedar request
(:func:`cedar_request` returns ``None``): deny them, as ``decide`` does (:mod:`cognito_authz.routing`,
facts 3 to 7; ``docs/architecture.md``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cognito_authz.errors import PolicyError
from cognito_authz.policy.conditions import Claimant, claim_items, claim_text, view
from cognito_authz.policy.engine import Policy
from cognito_authz.policy.model import CONDITION_FIELDS, Condition, Rule, template_param
from cognito_authz.policy.routes import GREEDY, LITERAL, Route
from cognito_authz.principal import Principal, normalize_bool
from cognito_authz.routing import STANDARD_VERBS, request_method, request_segments

__all__ = [
    "ACTIONS",
    "ANY_ACTION",
    "DEFAULT_NAMESPACE",
    "EXPORTED_CONDITIONS",
    "WEBSOCKET_ACTION",
    "CedarExport",
    "CedarRequest",
    "cedar_request",
    "export_cedar",
]

DEFAULT_NAMESPACE = "CognitoAuthz"
#: The action for WebSocket route keys (``$connect``...), whatever the method.
WEBSOCKET_ACTION = "WebSocket"
#: The action group of the seven HTTP verbs, for ``ANY`` routes.
ANY_ACTION = "ANY"
#: Every action a request names, HTTP verbs in a fixed order.
ACTIONS: tuple[str, ...] = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", WEBSOCKET_ACTION)
assert frozenset(ACTIONS[:-1]) == STANDARD_VERBS

_NAMESPACE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*")
_REFUSED = "cedar_unexportable"
_SET_OF_STRINGS: dict[str, Any] = {"type": "Set", "element": {"type": "String"}}


# --- Cedar text ----------------------------------------------------------------------------------------


def _string(text: str) -> str:
    """A Cedar string literal: ``\\`` and ``"`` escaped, anything not printable as ``\\u{hex}``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PolicyError(
            f"{text!r} holds a lone surrogate, which Cedar text cannot carry", reason=_REFUSED
        ) from None
    out: list[str] = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char.isprintable() and char not in "\u2028\u2029":
            out.append(char)
        else:
            out.append(f"\\u{{{ord(char):x}}}")
    return '"' + "".join(out) + '"'


def _strings(values: Iterable[str]) -> str:
    return "[" + ", ".join(_string(value) for value in sorted(set(values))) + "]"


def _claim(name: str) -> str:
    return f"principal.claims[{_string(name)}]"


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the exported schema must declare: path depth, greedy positions, claims by use."""

    depth: int
    greedy_at: frozenset[int]
    text_claims: frozenset[str]
    flag_claims: frozenset[str]


def _shape(rules: tuple[Rule, ...]) -> _Shape:
    depth = 0
    greedy: set[int] = set()
    texts: set[str] = set()
    flags: set[str] = set()
    for rule in rules:
        for route in rule.routes:
            if route.is_websocket:
                continue
            depth = max(depth, len(route.pattern))
            if route.greedy:
                greedy.add(len(route.pattern) - 1)
        for condition in (rule.when, rule.unless):
            for claim, spec in ((condition.claims or {}) if condition is not None else {}).items():
                texts.add(claim)
                values = spec if isinstance(spec, tuple) else (spec,)
                if any(isinstance(value, bool) for value in values):
                    flags.add(claim)
    return _Shape(depth, frozenset(greedy), frozenset(texts), frozenset(flags))


def _route_test(route: Route) -> tuple[list[str], dict[str, str]]:
    """Cedar tests that the request path matches ``route``, and where each parameter's value lives."""
    count = len(route.pattern)
    tests = [f"resource.depth > {count - 1}" if route.greedy else f"resource.depth == {count}"]
    where: dict[str, str] = {}
    for index, (kind, text) in enumerate(route.pattern):
        if kind == LITERAL:
            tests.append(f"resource.seg{index} == {_string(text)}")
        elif kind == GREEDY:
            where[text] = f"resource.rest{index}"
        else:
            where[text] = f"resource.seg{index}"
    return tests, where


#: The condition kinds this module translates; any other one set in a policy is refused, so a condition
#: kind added to the language later can never be dropped silently (exported weaker).
EXPORTED_CONDITIONS = frozenset(
    {"groups", "all_groups", "scopes", "all_scopes", "token_use", "client_id", "claims"}
)


def _condition_tests(condition: Condition, where: Mapping[str, str]) -> list[str]:
    """One Cedar test per condition, in the order the policy file names them."""
    unknown = [
        name
        for name in CONDITION_FIELDS
        if name not in EXPORTED_CONDITIONS and getattr(condition, name) is not None
    ]
    if unknown:
        raise PolicyError(f"no Cedar form for condition(s) {', '.join(unknown)}", reason=_REFUSED)
    tests: list[str] = []
    if condition.groups is not None:
        tests.append(f"principal.groups.containsAny({_strings(condition.groups)})")
    if condition.all_groups is not None:
        tests.append(f"principal.groups.containsAll({_strings(condition.all_groups)})")
    if condition.scopes is not None:
        tests.append(f"principal.scopes.containsAny({_strings(condition.scopes)})")
    if condition.all_scopes is not None:
        tests.append(f"principal.scopes.containsAll({_strings(condition.all_scopes)})")
    if condition.token_use is not None:
        uses = _strings(condition.token_use)
        tests.append(f"(principal has token_use && {uses}.contains(principal.token_use))")
    if condition.client_id is not None:
        clients = _strings(condition.client_id)
        tests.append(f"(principal has client_id && {clients}.contains(principal.client_id))")
    for claim, spec in (condition.claims or {}).items():
        if spec == "*":
            tests.append(f"principal.presentClaims.contains({_string(claim)})")
            continue
        values = spec if isinstance(spec, tuple) else (spec,)
        texts = {
            str(value) for value in values if not isinstance(value, bool) and template_param(value) is None
        }
        flags = {value for value in values if isinstance(value, bool)}
        params = dict.fromkeys(name for value in values if (name := template_param(value)) is not None)
        options: list[str] = []
        if texts:
            options.append(f"{_claim(claim)}.containsAny({_strings(texts)})")
        if flags:
            shown = ", ".join("true" if flag else "false" for flag in sorted(flags))
            options.append(f"principal.claimFlags[{_string(claim)}].containsAny([{shown}])")
        for name in params:
            # the model checked that every route of the rule has this parameter
            options.append(f"{_claim(claim)}.contains({where[name]})")
        tests.append(options[0] if len(options) == 1 else "(" + " || ".join(options) + ")")
    return tests


def _policy_text(rule: Rule, route: Route, namespace: str) -> str:
    effect = "forbid" if rule.effect == "deny" else "permit"
    if route.is_websocket:
        action = f'action == {namespace}::Action::"{WEBSOCKET_ACTION}"'
        when = [f"resource.routeKey == {_string(route.path)}"]
        where: dict[str, str] = {}
    else:
        # ANY is an action group holding the seven verbs (declared in the schema)
        operator = "in" if route.method == ANY_ACTION else "=="
        action = f'action {operator} {namespace}::Action::"{route.method}"'
        when, where = _route_test(route)
        when.insert(0, 'resource.routeKey == ""')
    if rule.when is not None:
        when.extend(_condition_tests(rule.when, where))
    lines = [
        f"@id({_string(f'{rule.id} | {route.text}')})",
        f"// rule {rule.id}: {rule.effect} {route.text}".replace("\n", " "),
        *(
            [f"// path parameters: {', '.join(f'{{{name}}} = {spot}' for name, spot in where.items())}"]
            if where
            else []
        ),
        f"{effect} (principal, {action}, resource)",
        "when {\n  " + " &&\n  ".join(when) + "\n}",
    ]
    if rule.unless is not None:
        lines.append("unless {\n  " + " &&\n  ".join(_condition_tests(rule.unless, where)) + "\n}")
    return "\n".join(lines) + ";"


def _schema(shape: _Shape, namespace: str) -> dict[str, Any]:
    def record(names: Iterable[str], element: str) -> dict[str, Any]:
        return {
            "type": "Record",
            "attributes": {name: {"type": "Set", "element": {"type": element}} for name in sorted(names)},
        }

    path_attributes: dict[str, Any] = {"routeKey": {"type": "String"}, "depth": {"type": "Long"}}
    for index in range(shape.depth):
        path_attributes[f"seg{index}"] = {"type": "String"}
    for index in sorted(shape.greedy_at):
        path_attributes[f"rest{index}"] = {"type": "String"}
    applies = {"principalTypes": ["User"], "resourceTypes": ["Path"]}
    return {
        namespace: {
            "entityTypes": {
                "User": {
                    "shape": {
                        "type": "Record",
                        "attributes": {
                            "groups": _SET_OF_STRINGS,
                            "scopes": _SET_OF_STRINGS,
                            "token_use": {"type": "String", "required": False},
                            "client_id": {"type": "String", "required": False},
                            "claims": record(shape.text_claims, "String"),
                            "claimFlags": record(shape.flag_claims, "Bool"),
                            "presentClaims": _SET_OF_STRINGS,
                        },
                    }
                },
                "Path": {"shape": {"type": "Record", "attributes": path_attributes}},
            },
            "actions": {
                ANY_ACTION: {},
                **{
                    action: {
                        "appliesTo": applies,
                        **({"memberOf": [{"id": ANY_ACTION}]} if action != WEBSOCKET_ACTION else {}),
                    }
                    for action in ACTIONS
                },
            },
        }
    }


# --- the export ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CedarRequest:
    """One of our requests in Cedar's terms: the request (principal, action, resource, empty context)
    and the two entities it names, in the JSON forms ``cedarpy`` and Verified Permissions take."""

    request: dict[str, Any]
    entities: list[dict[str, Any]]

    def is_authorized_arguments(self, policy_store_id: str) -> dict[str, Any]:
        """Keyword arguments for Verified Permissions' ``IsAuthorized`` (boto3:
        ``client("verifiedpermissions").is_authorized(**arguments)``), entities in the Cedar JSON form
        the API takes as ``cedarJson``.

        API: https://docs.aws.amazon.com/verifiedpermissions/latest/apireference/API_IsAuthorized.html
        and https://docs.aws.amazon.com/verifiedpermissions/latest/apireference/API_EntitiesDefinition.html
        """
        principal, action, resource = (self.request[key] for key in ("principal", "action", "resource"))
        return {
            "policyStoreId": policy_store_id,
            "principal": {"entityType": principal["type"], "entityId": principal["id"]},
            "action": {"actionType": action["type"], "actionId": action["id"]},
            "resource": {"entityType": resource["type"], "entityId": resource["id"]},
            "entities": {"cedarJson": json.dumps(self.entities, ensure_ascii=False)},
        }


@dataclass(frozen=True, slots=True)
class CedarExport:
    """The exported schema (Cedar's JSON schema format) and policy set (Cedar text), with what
    :func:`cedar_request` needs to build requests against them."""

    namespace: str
    schema: dict[str, Any]
    policies: str
    policy_count: int
    shape: _Shape

    def schema_json(self) -> str:
        """The schema as Cedar's JSON schema format, indented."""
        return json.dumps(self.schema, indent=2, ensure_ascii=False) + "\n"


def export_cedar(policy: Policy, *, namespace: str = DEFAULT_NAMESPACE) -> CedarExport:
    """Export ``policy``; :class:`PolicyError` (``cedar_unexportable``) when Cedar cannot say the same."""
    if not isinstance(namespace, str) or _NAMESPACE.fullmatch(namespace) is None:
        raise PolicyError(f"{namespace!r} is not a Cedar namespace (Name or Name::Name)", reason=_REFUSED)
    shape = _shape(policy.rules)
    header = [
        f"// Cedar policies exported by cognito-authz from {policy.source}.",
        "// One policy per rule and route; forbid overrides permit, and no applicable policy means deny.",
        "// Requests carry the path position by position (resource.seg<i>, resource.rest<i>): see the",
        "// 'Migrating to Verified Permissions' page of the cognito-authz documentation.",
    ]
    texts: list[str] = []
    for rule in policy.rules:
        for route in rule.routes:
            try:
                texts.append(_policy_text(rule, route, namespace))
            except PolicyError as exc:
                raise PolicyError(
                    f"rule {rule.id!r} cannot be exported to Cedar: {exc.message}",
                    reason=_REFUSED,
                    source=policy.source,
                    rule_id=rule.id,
                ) from None
    policies = "\n".join(header) + "\n\n" + "\n\n".join(texts) + ("\n" if texts else "")
    return CedarExport(namespace, _schema(shape, namespace), policies, len(texts), shape)


def _present(items: tuple[object, ...] | None) -> bool:
    # the engine's "present and non-empty" ("*"): some item that is not None, "" or []
    return items is not None and any(item is not None and item != "" and item != [] for item in items)


def _flag(item: object) -> bool | None:
    if isinstance(item, bool):
        return item
    if isinstance(item, str):
        value = normalize_bool(item)
        if isinstance(value, bool):
            return value
    return None


def _user(export: CedarExport, subject: Claimant, entity_id: str) -> dict[str, Any]:
    claims: dict[str, list[str]] = {}
    flags: dict[str, list[bool]] = {}
    present: list[str] = []
    for name in sorted(export.shape.text_claims):
        items = claim_items(subject, name)
        texts = [text for item in items or () if (text := claim_text(item)) is not None]
        claims[name] = sorted(set(texts))
        if name in export.shape.flag_claims:
            flags[name] = sorted({flag for item in items or () if (flag := _flag(item)) is not None})
        if _present(items):
            present.append(name)
    attrs: dict[str, Any] = {
        "groups": sorted(set(subject.groups)),
        "scopes": sorted(set(subject.scopes)),
        "claims": claims,
        "claimFlags": flags,
        "presentClaims": present,
    }
    if subject.token_use is not None:
        attrs["token_use"] = subject.token_use
    if subject.client_id is not None:
        attrs["client_id"] = subject.client_id
    return {"uid": {"type": f"{export.namespace}::User", "id": entity_id}, "attrs": attrs, "parents": []}


def _path(export: CedarExport, path: str, segments: tuple[str, ...], route_key: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {"routeKey": route_key, "depth": len(segments)}
    for index in range(export.shape.depth):
        attrs[f"seg{index}"] = segments[index] if index < len(segments) else ""
    for index in sorted(export.shape.greedy_at):
        attrs[f"rest{index}"] = "/".join(segments[index:])
    return {"uid": {"type": f"{export.namespace}::Path", "id": path}, "attrs": attrs, "parents": []}


def cedar_request(
    export: CedarExport,
    principal: Principal,
    method: str,
    path: str,
    *,
    principal_id: str | None = None,
) -> CedarRequest | None:
    """The Cedar request for ``method path`` by ``principal``, or ``None`` when no Cedar request can
    stand for it (a verb outside the seven, a path no route can match): deny those.

    ``principal_id`` names the ``User`` entity (default: the principal's ``sub``).
    """
    if not isinstance(principal, Principal) or not isinstance(path, str):
        return None
    segments: tuple[str, ...] = ()
    if path.startswith("$"):
        action, route_key = WEBSOCKET_ACTION, path
    else:
        # the routing model's verb and segments, exactly what decide matches (docs/architecture.md)
        verb = request_method(method)
        found = request_segments(path)
        if verb is None or found is None:
            return None
        action, segments, route_key = verb, found, ""
    user_id = principal.sub if principal_id is None else principal_id
    user = _user(export, view(principal), user_id)
    resource = _path(export, path, segments, route_key)
    request = {
        "principal": user["uid"],
        "action": {"type": f"{export.namespace}::Action", "id": action},
        "resource": resource["uid"],
        "context": {},
    }
    return CedarRequest(request, [user, resource])
