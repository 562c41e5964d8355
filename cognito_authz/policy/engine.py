"""The compiled policy: load, decide, explain, and enumerate what a principal may call.

Rules compile once into a segment trie per method (plus one for ``ANY``): each node has literal
children, one parameter child and the greedy routes that start there; a leaf lists the routes ending
there. A decision canonicalizes the path, walks the trie (cost grows with path depth and with how many
route shapes overlap the path, never with the number of rules), and evaluates only the conditions of
the rules attached to the routes it reached. Semantics (DESIGN.md section 6): deny if any matching deny
rule; else allow if any matching allow rule; else deny. Order never matters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cognito_authz.policy.conditions import Binding, CompiledCondition, Subject
from cognito_authz.policy.lint import LintFinding, lint_policy
from cognito_authz.policy.model import PolicyDocument, Rule, parse_document
from cognito_authz.policy.routes import (
    GREEDY,
    LITERAL,
    PARAM,
    Pattern,
    Route,
    match_pattern,
    normalize_method,
    split_path,
    subsumes,
)
from cognito_authz.policy.sources import load_file
from cognito_authz.principal import Principal

__all__ = ["AllowedRoutes", "Decision", "Policy", "RouteGrant"]

_EMPTY: Mapping[str, str] = MappingProxyType({})

ALLOWED = "allowed"
EXPLICIT_DENY = "explicit_deny"
NO_MATCHING_RULE = "no_matching_rule"
#: Only when evaluation itself failed unexpectedly (a bug, never bad input): fail closed, say so.
EVALUATION_ERROR = "evaluation_error"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one request.

    ``reason`` is ``"allowed"``, ``"explicit_deny"`` or ``"no_matching_rule"``; ``rules`` names the
    determining rules (matching deny rules when denied by rule, matching allow rules when allowed, empty
    for the default deny); ``route`` is the most specific policy route matching the request and
    ``path_params`` its parameters; ``considered`` lists rules whose route matched but whose conditions
    did not hold.
    """

    allowed: bool
    reason: str
    rules: tuple[str, ...]
    path_params: Mapping[str, str]
    route: str | None
    method: str
    path: str
    considered: tuple[str, ...] = ()

    def explain(self) -> str:
        """One human-readable paragraph saying what was decided and why."""
        request = f"{self.method} {self.path}".strip() if not self.path.startswith("$") else self.path
        if self.route is not None:
            params = ", ".join(f"{name}={value!r}" for name, value in self.path_params.items())
            where = f"route {self.route}" + (f" ({params})" if params else "")
        else:
            where = ""
        rules = ", ".join(self.rules)
        others = ", ".join(self.considered)
        if self.reason == ALLOWED:
            text = (
                f"{request} is allowed: it matches {where}, and allow rule(s) {rules} hold for this principal"
            )
            text += "; no deny rule applies."
            if others:
                text += f" Rules also matching the route but not applying: {others}."
            return text
        if self.reason == EXPLICIT_DENY:
            return (
                f"{request} is denied by deny rule(s) {rules} (matching {where}); a deny overrides any allow."
            )
        if self.reason == EVALUATION_ERROR:
            return f"{request} is denied: the policy could not be evaluated for this request (fail closed)."
        if where:
            text = f"{request} is denied by default: it matches {where}, but no allow rule applies"
            text += f" (rules considered whose conditions do not hold: {others})." if others else "."
            return text
        if not self.path.startswith("$") and (
            split_path(self.path) is None or normalize_method(self.method) is None
        ):
            return (
                f"{request or '(empty request)'} is denied by default: the method or path is not one "
                "API Gateway routes (empty, '.' or '..' segments, a broken escape, no leading '/')."
            )
        return f"{request} is denied by default: no rule of the policy has a route matching it."


@dataclass(frozen=True, slots=True)
class RouteGrant:
    """A route a principal may call (or is denied), as the policy states it for that principal.

    ``path`` is the route template with claim-bound parameters replaced by the principal's values;
    ``bound_params`` gives those values; ``except_params`` lists parameter bindings the grant does *not*
    cover (from ``unless`` templates: a tenant guard denies every tenant except the caller's own);
    ``route`` is the policy route text the grant comes from.
    """

    method: str | None
    path: str
    rule_ids: tuple[str, ...]
    route: str = ""
    bound_params: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    except_params: tuple[Mapping[str, str], ...] = ()
    pattern: Pattern = field(default=(), repr=False, compare=False)

    def matches(self, method: str, path: str) -> bool:
        """Whether the concrete request falls under this grant (exceptions included)."""
        if self.method is None:
            return path == self.path
        verb = normalize_method(method)
        if verb is None or (self.method != "ANY" and self.method != verb):
            return False
        segments = split_path(path)
        if segments is None:
            return False
        params = match_pattern(self.pattern, segments)
        if params is None:
            return False
        return not any(
            all(params.get(name) == value for name, value in exception.items())
            for exception in self.except_params
        )


@dataclass(frozen=True, slots=True)
class AllowedRoutes:
    """What one principal may call: allow grants and the explicit deny grants that cut into them.

    A request is permitted exactly when some ``allowed`` grant matches and no ``denied`` grant does
    (:meth:`permits`), which equals ``decide`` when ``exact`` is true. ``exact`` is false only when a
    principal's list claims would need more than ``MAX_ALTERNATIVES`` bindings; then allow grants are
    under- and deny grants over-approximated, so :meth:`permits` never allows what ``decide`` denies.
    Allow grants that a deny grant without exceptions fully covers are left out.
    """

    allowed: tuple[RouteGrant, ...]
    denied: tuple[RouteGrant, ...]
    exact: bool = True

    def permits(self, method: str, path: str) -> bool:
        """Whether the grants permit this concrete request."""
        return any(grant.matches(method, path) for grant in self.allowed) and not any(
            grant.matches(method, path) for grant in self.denied
        )


@dataclass(frozen=True, slots=True)
class _Statement:
    """One rule on one of its routes."""

    rule_index: int
    rule_id: str
    deny: bool
    route: Route
    when: CompiledCondition | None
    unless: CompiledCondition | None

    def fires(self, subject: Subject, params: Mapping[str, str]) -> bool:
        if self.when is not None and not self.when.holds(subject, params):
            return False
        return self.unless is None or not self.unless.holds(subject, params)


class _Entry:
    """One distinct route in the index, with the statements attached to it."""

    __slots__ = ("allow", "deny", "greedy_at", "order", "param_at", "route", "sort_key")

    def __init__(self, route: Route, order: int) -> None:
        self.route = route
        self.order = order
        self.sort_key = (route.specificity(), order)
        self.param_at = tuple(
            (index, name) for index, (kind, name) in enumerate(route.pattern) if kind == PARAM
        )
        self.greedy_at = next(
            ((index, name) for index, (kind, name) in enumerate(route.pattern) if kind == GREEDY), None
        )
        self.allow: list[_Statement] = []
        self.deny: list[_Statement] = []

    def params(self, segments: tuple[str, ...]) -> dict[str, str]:
        out = {name: segments[index] for index, name in self.param_at}
        if self.greedy_at is not None:
            index, name = self.greedy_at
            out[name] = "/".join(segments[index:])
        return out


class _Node:
    __slots__ = ("greedy", "literals", "param", "terminal")

    def __init__(self) -> None:
        self.literals: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.greedy: list[_Entry] = []
        self.terminal: list[_Entry] = []


def _collect(root: _Node, segments: tuple[str, ...], out: list[_Entry]) -> None:
    # Iterative walk: a literal and a parameter child can both match a segment, so branches fork, but
    # only along route shapes that exist in the policy.
    count = len(segments)
    stack = [(root, 0)]
    while stack:
        node, index = stack.pop()
        if index == count:
            out.extend(node.terminal)
            continue
        if node.greedy:
            out.extend(node.greedy)
        child = node.literals.get(segments[index])
        if child is not None:
            stack.append((child, index + 1))
        if node.param is not None:
            stack.append((node.param, index + 1))


class Policy:
    """A loaded, validated and compiled policy. Immutable and safe to share across threads."""

    def __init__(self, document: PolicyDocument, *, source: str = "<dict>") -> None:
        self.document = document
        self.source = source
        self.rules: tuple[Rule, ...] = document.rules
        self.declared_groups: tuple[str, ...] | None = document.groups
        self._entries: dict[str, _Entry] = {}
        self._statements: list[_Statement] = []
        self._tries: dict[str, _Node] = {}
        self._websocket: dict[str, _Entry] = {}
        self._compile()
        self.routes: tuple[Route, ...] = tuple(entry.route for entry in self._entries.values())

    # --- loading -----------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> Policy:
        """Validate and compile a policy given as a mapping; raise :class:`PolicyError` if invalid."""
        return cls(parse_document(data, source), source=source)

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Load ``.yaml``/``.yml`` (needs the ``yaml`` extra), ``.json`` or ``.toml``."""
        source = str(path)
        return cls.from_dict(load_file(path), source=source)

    def _compile(self) -> None:
        for rule_index, rule in enumerate(self.rules):
            when = CompiledCondition.compile(rule.when) if rule.when is not None else None
            unless = CompiledCondition.compile(rule.unless) if rule.unless is not None else None
            for route in dict.fromkeys(rule.routes):
                entry = self._entries.get(route.text)
                if entry is None:
                    entry = self._entries[route.text] = _Entry(route, len(self._entries))
                    self._insert(entry)
                statement = _Statement(rule_index, rule.id, rule.effect == "deny", route, when, unless)
                (entry.deny if statement.deny else entry.allow).append(statement)
                self._statements.append(statement)

    def _insert(self, entry: _Entry) -> None:
        route = entry.route
        if route.method is None:
            self._websocket[route.path] = entry
            return
        node = self._tries.setdefault(route.method, _Node())
        for kind, text in route.pattern:
            if kind == GREEDY:
                node.greedy.append(entry)
                return
            if kind == LITERAL:
                node = node.literals.setdefault(text, _Node())
            else:
                if node.param is None:
                    node.param = _Node()
                node = node.param
        node.terminal.append(entry)

    # --- deciding ----------------------------------------------------------------------------------

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with this id, if any."""
        return next((rule for rule in self.rules if rule.id == rule_id), None)

    def decide(self, principal: Principal, method: str, path: str) -> Decision:
        """Decide one request. Never raises: nonsense input is a denied :class:`Decision`."""
        shown_method = method if isinstance(method, str) else ""
        shown_path = path if isinstance(path, str) else ""
        try:
            return self._decide(principal, shown_method, shown_path)
        except Exception:
            # Fail closed on a bug rather than let an exception escape an authorizer.
            return Decision(False, EVALUATION_ERROR, (), _EMPTY, None, shown_method, shown_path)

    def _match(self, method: str, path: str) -> tuple[list[_Entry], tuple[str, ...]]:
        if path.startswith("$"):
            entry = self._websocket.get(path)
            return ([entry] if entry is not None else []), ()
        verb = normalize_method(method)
        segments = split_path(path)
        matched: list[_Entry] = []
        if verb is None or segments is None:
            return matched, ()
        root = self._tries.get(verb)
        if root is not None:
            _collect(root, segments, matched)
        if verb != "ANY":
            root = self._tries.get("ANY")
            if root is not None:
                _collect(root, segments, matched)
        return matched, segments

    def _decide(self, principal: Principal, method: str, path: str) -> Decision:
        matched, segments = self._match(method, path)
        if not matched:
            return Decision(False, NO_MATCHING_RULE, (), _EMPTY, None, method, path)
        best = matched[0] if len(matched) == 1 else min(matched, key=_sort_key)
        if not isinstance(principal, Principal):
            params = MappingProxyType(best.params(segments))
            return Decision(False, NO_MATCHING_RULE, (), params, best.route.text, method, path)
        subject = Subject.of(principal)
        all_params = [entry.params(segments) for entry in matched]
        fired: dict[int, str] = {}
        missed: dict[int, str] = {}
        for entry, params in zip(matched, all_params, strict=True):
            for statement in entry.deny:
                if statement.fires(subject, params):
                    fired[statement.rule_index] = statement.rule_id
                else:
                    missed[statement.rule_index] = statement.rule_id
        best_params = MappingProxyType(all_params[matched.index(best)])
        if fired:
            return Decision(
                False, EXPLICIT_DENY, _ordered(fired), best_params, best.route.text, method, path,
                _ordered(missed, exclude=fired),
            )  # fmt: skip
        for entry, params in zip(matched, all_params, strict=True):
            for statement in entry.allow:
                if statement.fires(subject, params):
                    fired[statement.rule_index] = statement.rule_id
                else:
                    missed[statement.rule_index] = statement.rule_id
        considered = _ordered(missed, exclude=fired)
        if fired:
            return Decision(
                True, ALLOWED, _ordered(fired), best_params, best.route.text, method, path, considered
            )
        return Decision(False, NO_MATCHING_RULE, (), best_params, best.route.text, method, path, considered)

    def explain(self, principal: Principal, method: str, path: str) -> str:
        """A multi-line account of the decision: every matching route and rule, and which conditions
        held. For people (the CLI's ``explain``); adapters use :meth:`decide`."""
        decision = self.decide(principal, method, path)
        lines = [decision.explain()]
        if not isinstance(principal, Principal):
            lines.append("  (no principal: nothing can be evaluated)")
            return "\n".join(lines)
        matched, segments = self._match(decision.method, decision.path)
        subject = Subject.of(principal)
        for entry in sorted(matched, key=_sort_key):
            params = entry.params(segments)
            shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
            lines.append(f"  route {entry.route.text}" + (f" ({shown})" if shown else ""))
            statements = sorted([*entry.deny, *entry.allow], key=lambda s: s.rule_index)
            for statement in statements:
                effect = "deny" if statement.deny else "allow"
                lines.append(f"    {effect} rule {statement.rule_id}: {_trace(statement, subject, params)}")
        return "\n".join(lines)

    # --- enumeration -------------------------------------------------------------------------------

    def allowed_routes(self, principal: Principal) -> AllowedRoutes:
        """Every route this principal may call (allow grants) and the deny grants that apply to it.

        Claim-bound parameters are resolved to the principal's values (one grant per value of a list
        claim). See :class:`AllowedRoutes` for the exactness guarantee.
        """
        if not isinstance(principal, Principal):
            return AllowedRoutes((), ())
        subject = Subject.of(principal)
        exact = True
        grants: dict[tuple[Any, ...], tuple[bool, int, RouteGrant, list[str]]] = {}
        for statement in self._statements:
            route = statement.route
            options = statement.when.alternatives(subject, route) if statement.when is not None else [{}]
            if options is None:
                exact = False
                # Too many bindings: a deny falls back to the whole route (over-deny), an allow to
                # nothing (under-allow); either way no grant permits what decide denies.
                options = [{}] if statement.deny else []
            unless = statement.unless.alternatives(subject, route) if statement.unless is not None else []
            if unless is None:
                exact = False
                if not statement.deny:
                    continue
                unless = []
            for binding in options:
                exceptions = _exceptions(binding, unless)
                if exceptions is None:
                    continue
                grant = _grant(route, binding, exceptions)
                key = (statement.deny, grant.method, grant.path, tuple(grant.bound_params.items()),
                       tuple(tuple(sorted(e.items())) for e in grant.except_params))  # fmt: skip
                if key not in grants:
                    order = self._entries[route.text].order
                    grants[key] = (statement.deny, order, grant, [])
                ids = grants[key][3]
                if statement.rule_id not in ids:
                    ids.append(statement.rule_id)
        ordered = sorted(grants.values(), key=lambda item: item[1])
        denied = tuple(_with_ids(grant, ids) for deny, _, grant, ids in ordered if deny)
        allowed = tuple(
            _with_ids(grant, ids)
            for deny, _, grant, ids in ordered
            if not deny
            and not any(
                not other.except_params
                and subsumes((other.method, other.pattern), (grant.method, grant.pattern))
                for other in denied
            )
        )
        return AllowedRoutes(allowed, denied, exact)

    # --- lint --------------------------------------------------------------------------------------

    def lint(self) -> list[LintFinding]:
        """Problems a reviewer should see: see :mod:`cognito_authz.policy.lint`."""
        return lint_policy(self)

    def __repr__(self) -> str:
        return f"Policy(source={self.source!r}, rules={len(self.rules)}, routes={len(self.routes)})"


def _sort_key(entry: _Entry) -> tuple[Any, ...]:
    return entry.sort_key


def _ordered(ids: dict[int, str], *, exclude: dict[int, str] | None = None) -> tuple[str, ...]:
    return tuple(ids[index] for index in sorted(ids) if not exclude or index not in exclude)


def _trace(statement: _Statement, subject: Subject, params: Mapping[str, str]) -> str:
    parts: list[str] = []
    if statement.when is not None:
        failed = statement.when.failing(subject, params)
        parts.append(f"when fails ({', '.join(failed)})" if failed else "when holds")
    else:
        parts.append("no when")
    if statement.unless is not None:
        failed = statement.unless.failing(subject, params)
        parts.append(
            f"unless does not hold ({', '.join(failed)})" if failed else "unless holds: rule skipped"
        )
    verdict = "applies" if statement.fires(subject, params) else "does not apply"
    return f"{verdict} ({'; '.join(parts)})"


def _exceptions(binding: Binding, unless: list[Binding]) -> list[Binding] | None:
    """The bindings (over parameters ``binding`` leaves free) for which ``unless`` skips the rule, or
    ``None`` when ``unless`` holds for every request under ``binding`` (no grant at all)."""
    out: list[Binding] = []
    for option in unless:
        residual: Binding = {}
        for name, value in option.items():
            if name in binding:
                if binding[name] != value:
                    break
            else:
                residual[name] = value
        else:
            if not residual:
                return None
            if residual not in out:
                out.append(residual)
    return out


def _grant(route: Route, binding: Binding, exceptions: list[Binding]) -> RouteGrant:
    if route.method is None:
        return RouteGrant(route.method, route.path, (), route.text, _EMPTY, (), route.pattern)
    pattern: list[tuple[int, str]] = []
    shown: list[str] = []
    for kind, text in route.pattern:
        if kind == LITERAL:
            pattern.append((LITERAL, text))
            shown.append(text)
        elif text in binding:
            value = binding[text]
            pattern.extend((LITERAL, part) for part in (value.split("/") if kind == GREEDY else [value]))
            shown.append(value)
        else:
            pattern.append((kind, text))
            shown.append(f"{{{text}+}}" if kind == GREEDY else f"{{{text}}}")
    return RouteGrant(
        method=route.method,
        path="/" + "/".join(shown),
        rule_ids=(),
        route=route.text,
        bound_params=MappingProxyType(dict(binding)),
        except_params=tuple(MappingProxyType(dict(e)) for e in exceptions),
        pattern=tuple(pattern),
    )


def _with_ids(grant: RouteGrant, ids: list[str]) -> RouteGrant:
    return RouteGrant(
        grant.method,
        grant.path,
        tuple(ids),
        grant.route,
        grant.bound_params,
        grant.except_params,
        grant.pattern,
    )
