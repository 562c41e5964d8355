"""The permission matrix: who may do what on the API, as a persona × route grid decided by the policy.

Pure functions over the public :class:`~cognito_authz.policy.Policy` API (``decide``, ``rules``,
``routes`` and, when the policy carries the API's route table, ``api``); rendering lives in
:mod:`cognito_authz.matrix_render` and the command line in :mod:`cognito_authz.cli.matrix_cmd`.

How a cell is decided:

- Columns are the API's routes when the policy has a route table (``api:``), else the distinct routes its
  rules name (see ``docs/architecture.md``, "The API's route table").
- A route is a template; ``decide`` answers concrete requests. Each cell picks one concrete path: a path
  parameter takes the persona's own claim value where some rule compares that claim with the parameter
  (``claims: {custom:tenant_id: "{tenantId}"}``), so the cell shows what the persona may do on *their*
  tenant; any other parameter takes :data:`REPRESENTATIVE`, a value no claim holds. Every cell records
  the concrete request it was decided on, and every format shows it.
- An ``ANY`` route is decided for each of the seven verbs a route may name; the cell is ``allow`` or
  ``deny`` when all seven agree, else ``mixed`` with the allowed verbs listed. Nothing is summarised away.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cognito_authz.errors import PolicyError
from cognito_authz.policy.conditions import claim_items, claim_text, view
from cognito_authz.policy.engine import Decision, Policy
from cognito_authz.policy.model import Condition, template_param
from cognito_authz.policy.routes import GREEDY, PARAM, Route, could_be_param, overlaps
from cognito_authz.principal import Principal
from cognito_authz.routing import STANDARD_VERBS

__all__ = [
    "REPRESENTATIVE",
    "VERB_ORDER",
    "Cell",
    "CellFlip",
    "Matrix",
    "Persona",
    "build_matrix",
    "columns_of",
    "diff_matrices",
    "personas_from_claims",
    "personas_from_table",
]

#: The value a path parameter takes when no rule binds it to one of the persona's claims.
REPRESENTATIVE = "example"
#: The verbs an ``ANY`` column is decided for, in the order they are shown.
VERB_ORDER: tuple[str, ...] = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
assert frozenset(VERB_ORDER) == STANDARD_VERBS

Status = Literal["allow", "deny", "mixed"]


@dataclass(frozen=True, slots=True)
class Persona:
    """A named caller: the claims a token would carry, and the principal built from them."""

    name: str
    claims: Mapping[str, Any]
    principal: Principal

    @classmethod
    def of(cls, name: str, claims: Mapping[str, Any]) -> Persona:
        """A persona from token-shaped claims (``cognito:groups`` list, ``scope`` string)."""
        return cls(name, dict(claims), Principal.from_claims(claims))


@dataclass(frozen=True, slots=True)
class Cell:
    """One persona on one route: the concrete request(s) decided and what the policy answered.

    ``decisions`` holds one :class:`Decision` per verb decided (one for a verb route, seven for ``ANY``,
    one with an empty method for a WebSocket route key).
    """

    persona: str
    route: str
    path: str
    decisions: tuple[Decision, ...]

    @property
    def status(self) -> Status:
        """``allow`` / ``deny`` when every verb agrees, else ``mixed``."""
        allowed = [decision.allowed for decision in self.decisions]
        if all(allowed):
            return "allow"
        if not any(allowed):
            return "deny"
        return "mixed"

    @property
    def allowed_verbs(self) -> tuple[str, ...]:
        """The verbs allowed (all of them for ``allow``, none for ``deny``)."""
        return tuple(decision.method for decision in self.decisions if decision.allowed)

    @property
    def rules(self) -> tuple[str, ...]:
        """The determining rules of every verb, each once, in order of appearance."""
        return tuple(dict.fromkeys(rule for decision in self.decisions for rule in decision.rules))

    @property
    def request(self) -> str:
        """The concrete request(s), e.g. ``GET /tenants/acme/projects`` or ``ANY /health``."""
        if self.path.startswith("$"):
            return self.path
        verb = self.decisions[0].method if len(self.decisions) == 1 else "ANY"
        return f"{verb} {self.path}"

    def summary(self) -> str:
        """What decided the cell, in words: ``tenant-read``, ``default deny``, ``GET,HEAD: read-all``."""
        if self.status == "mixed":
            return f"allowed for {','.join(self.allowed_verbs)} by {', '.join(self.rules) or '?'}"
        if self.rules:
            return ", ".join(self.rules)
        return "default deny" if self.status == "deny" else ""

    def explain(self) -> str:
        """Every verb's own explanation, one per line."""
        return "\n".join(decision.explain() for decision in self.decisions)


@dataclass(frozen=True, slots=True)
class Matrix:
    """The whole grid: ``cells[persona][route]``, personas and routes in display order."""

    source: str
    personas: tuple[Persona, ...]
    routes: tuple[Route, ...]
    cells: Mapping[str, Mapping[str, Cell]]
    #: whether columns come from the API's route table (else from the rules)
    from_api_table: bool = False

    def cell(self, persona: str, route: str) -> Cell:
        """The cell of one persona (by name) and one route (by its text)."""
        return self.cells[persona][route]

    def rows(self) -> Iterable[tuple[Persona, tuple[Cell, ...]]]:
        """Each persona with its cells in column order."""
        for persona in self.personas:
            yield persona, tuple(self.cells[persona.name][route.text] for route in self.routes)


@dataclass(frozen=True, slots=True)
class CellFlip:
    """A cell a policy change flips: the same request, decided by the old and the new policy."""

    old: Cell
    new: Cell

    @property
    def persona(self) -> str:
        return self.new.persona

    @property
    def route(self) -> str:
        return self.new.route


# --- personas ------------------------------------------------------------------------------------------


def personas_from_claims(named: Sequence[tuple[str, Mapping[str, Any]]]) -> tuple[Persona, ...]:
    """Personas from ``(name, claims)`` pairs; claims may use the decision tables' ``groups`` / ``scopes``
    shorthands. Raises :class:`PolicyError` (``invalid_persona``) on a duplicate or empty name."""
    out: list[Persona] = []
    seen: set[str] = set()
    for name, claims in named:
        if not isinstance(name, str) or not name.strip():
            raise PolicyError("a persona needs a non-empty name", reason="invalid_persona")
        if name in seen:
            raise PolicyError(f"persona {name!r} is named twice", reason="invalid_persona")
        if not isinstance(claims, Mapping):
            raise PolicyError(f"persona {name!r}: claims must be a mapping", reason="invalid_persona")
        seen.add(name)
        out.append(Persona.of(name, _expand_shorthands(name, claims)))
    return tuple(out)


def _expand_shorthands(name: str, claims: Mapping[str, Any]) -> dict[str, Any]:
    # The decision tables' shorthands, so a persona flag reads like a table's principal.
    from pydantic import ValidationError

    from cognito_authz.policy.tables import DecisionCase

    try:
        case = DecisionCase(principal=dict(claims), method="GET", path="/", expect="deny")
    except ValidationError as exc:  # claim names must be non-empty strings
        problem = exc.errors()[0]
        raise PolicyError(
            f"persona {name!r}: {problem['msg']} at {'.'.join(map(str, problem['loc']))}",
            reason="invalid_persona",
        ) from None
    for short, long in (("groups", "cognito:groups"), ("scopes", "scope")):
        value = claims.get(short)
        if value is None:
            continue
        if long in claims:
            raise PolicyError(
                f"persona {name!r}: give {short!r} or {long!r}, not both", reason="invalid_persona"
            )
        if not (
            isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            raise PolicyError(
                f"persona {name!r}: {short!r} must be a string or a list of strings", reason="invalid_persona"
            )
    return case.claims()


def personas_from_table(table: Any) -> tuple[Persona, ...]:
    """The distinct principals of a decision table (a :class:`DecisionTable`, a path or its data), in
    order of first appearance, each named by its ``sub`` (``sub#2``... when one ``sub`` appears with
    different claims, ``case N`` when there is no ``sub``)."""
    from cognito_authz.policy.tables import DecisionTable

    if not isinstance(table, DecisionTable):
        if isinstance(table, str | Path):
            table = DecisionTable.from_file(table)
        else:
            table = DecisionTable.from_data(table)
    found: list[tuple[str, dict[str, Any]]] = []
    keys: set[str] = set()
    names: set[str] = set()
    for index, case in enumerate(table.cases):
        claims = case.claims()
        key = repr(sorted(claims.items(), key=lambda item: item[0]))
        if key in keys:
            continue
        keys.add(key)
        sub = claims.get("sub")
        base = sub if isinstance(sub, str) and sub else f"case {index}"
        name, counter = base, 1
        while name in names:
            counter += 1
            name = f"{base}#{counter}"
        names.add(name)
        found.append((name, claims))
    return tuple(Persona.of(name, claims) for name, claims in found)


# --- columns and concrete requests ---------------------------------------------------------------------


def columns_of(policy: Policy) -> tuple[tuple[Route, ...], bool]:
    """The matrix's columns and whether they come from the API's route table: the table's routes when
    the policy has a non-empty one (``api:``), else the distinct routes its rules name."""
    if policy.api is not None and policy.api.routes:
        return policy.api.routes, True
    return tuple(policy.routes), False


def _bindings(condition: Condition | None) -> Iterable[tuple[str, str]]:
    """``(claim, parameter)`` for every ``"{param}"`` template of a condition."""
    for claim, spec in ((condition.claims or {}) if condition is not None else {}).items():
        for value in spec if isinstance(spec, tuple) else (spec,):
            name = template_param(value)
            if name is not None:
                yield claim, name


def _claim_value(persona: Persona, claim: str, *, greedy: bool) -> str | None:
    """The persona's first value of ``claim`` that a request path could carry as a parameter."""
    for item in claim_items(view(persona.principal), claim) or ():
        text = claim_text(item)
        if text is not None and could_be_param(text, greedy=greedy):
            return text
    return None


def concrete_path(policy: Policy, route: Route, persona: Persona) -> str:
    """The path a cell is decided on: ``route`` with each parameter filled (see the module doc)."""
    if route.is_websocket:
        return route.path
    values: dict[int, str] = {}
    for index, (kind, _name) in enumerate(route.pattern):
        if kind in (PARAM, GREEDY):
            values[index] = _bound_value(policy, route, index, persona) or REPRESENTATIVE
    parts = [values.get(index, text) for index, (_kind, text) in enumerate(route.pattern)]
    return "/" + "/".join(parts)


def _bound_value(policy: Policy, column: Route, index: int, persona: Persona) -> str | None:
    """A claim value of the persona for the column's parameter at ``index``, from the first rule (file
    order) whose route overlaps the column and compares a claim with its parameter at that position."""
    greedy = column.pattern[index][0] == GREEDY
    for rule in policy.rules:
        pairs = [*_bindings(rule.when), *_bindings(rule.unless)]
        if not pairs:
            continue
        for rule_route in rule.routes:
            if rule_route.is_websocket or index >= len(rule_route.pattern):
                continue
            if not overlaps((column.method, column.pattern), (rule_route.method, rule_route.pattern)):
                continue
            kind, name = rule_route.pattern[index]
            if kind != PARAM and kind != GREEDY:
                continue
            for claim, param in pairs:
                if param == name:
                    value = _claim_value(persona, claim, greedy=greedy and kind == GREEDY)
                    if value is not None:
                        return value
    return None


def _decide_cell(policy: Policy, route: Route, persona: Persona, path: str) -> Cell:
    if route.is_websocket:
        verbs: tuple[str, ...] = ("",)
    elif route.method == "ANY":
        verbs = VERB_ORDER
    else:
        verbs = (route.method or "",)
    decisions = tuple(policy.decide(persona.principal, verb, path) for verb in verbs)
    return Cell(persona.name, route.text, path, decisions)


# --- the matrix ----------------------------------------------------------------------------------------


def build_matrix(
    policy: Policy,
    personas: Sequence[Persona],
    routes: Sequence[Route] | None = None,
    *,
    paths_from: Policy | None = None,
) -> Matrix:
    """Decide every persona on every route.

    ``routes`` defaults to :func:`columns_of`; ``paths_from`` picks the policy whose rules choose the
    concrete paths (default ``policy``): a diff decides both policies on the same requests.
    """
    if routes is None:
        columns, from_table = columns_of(policy)
    else:
        columns, from_table = tuple(routes), False
    columns = tuple({route.text: route for route in columns}.values())
    chooser = paths_from if paths_from is not None else policy
    cells: dict[str, dict[str, Cell]] = {}
    for persona in personas:
        row: dict[str, Cell] = {}
        for route in columns:
            path = concrete_path(chooser, route, persona)
            row[route.text] = _decide_cell(policy, route, persona, path)
        cells[persona.name] = row
    return Matrix(policy.source, tuple(personas), columns, cells, from_table)


def diff_matrices(old: Policy, new: Policy, personas: Sequence[Persona]) -> tuple[Matrix, list[CellFlip]]:
    """The new policy's matrix and the cells whose answer differs under the old policy.

    Columns are the new policy's, then any the old one had and the new one lacks; both policies decide
    the same concrete request per cell (paths chosen by the new policy's rules, or the old one's for a
    column only the old policy has). A cell flips when any verb's allow/deny differs.
    """
    new_columns, from_table = columns_of(new)
    old_columns, _ = columns_of(old)
    known = {route.text for route in new_columns}
    extra = tuple(route for route in old_columns if route.text not in known)
    new_matrix = build_matrix(new, personas, (*new_columns, *extra), paths_from=new)
    flips: list[CellFlip] = []
    for persona in personas:
        for route in new_matrix.routes:
            after = new_matrix.cell(persona.name, route.text)
            chooser = old if route in extra else new
            path = concrete_path(chooser, route, persona)
            if path != after.path:
                after = _decide_cell(new, route, persona, path)
            before = _decide_cell(old, route, persona, path)
            if [d.allowed for d in before.decisions] != [d.allowed for d in after.decisions]:
                flips.append(CellFlip(before, after))
    matrix = Matrix(new_matrix.source, new_matrix.personas, new_matrix.routes, new_matrix.cells, from_table)
    return matrix, flips
