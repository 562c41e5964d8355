"""The compiled policy: load, decide, explain, and enumerate what a principal may call.

Rules compile once into a segment trie: each node has literal children, one parameter child, and the
routes ending there or whose greedy parameter starts there, listed per request verb (``ANY`` routes
merged into every verb's list). A decision canonicalizes the path, walks the trie (cost grows with path
depth and with how many route shapes overlap the path, never with the number of rules), and evaluates
only the conditions of the rules attached to the routes it reached, each compiled into one callable.
Semantics (``docs/policy.md``; the layers in ``docs/architecture.md``): deny if any matching deny rule;
else allow if any matching allow rule; else deny. Order never matters.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.policy.api_table import ApiTable
from cognito_authz.policy.conditions import Binding, Claimant, CompiledCondition, Test, view
from cognito_authz.policy.model import PolicyDocument, Rule
from cognito_authz.policy.parse import parse_document
from cognito_authz.policy.routes import (
    GREEDY,
    HTTP_METHODS,
    LITERAL,
    MAX_PATH,
    PARAM,
    Pattern,
    Route,
    match_pattern,
    subsumes,
)
from cognito_authz.policy.sources import load_file
from cognito_authz.principal import Principal
from cognito_authz.routing import request_method, request_segments

if TYPE_CHECKING:  # for annotations only: a cold start imports neither pathlib nor the linter
    from pathlib import Path

    from cognito_authz.policy.findings import LintFinding

__all__ = ["AllowedRoutes", "Decision", "Policy", "RouteGrant"]

_EMPTY: Mapping[str, str] = MappingProxyType({})
#: Methods as adapters pass them, mapped straight to themselves (normalize_method handles the rest).
_VERBS = {**{verb: verb for verb in HTTP_METHODS}, **{verb.lower(): verb for verb in HTTP_METHODS}}

ALLOWED = "allowed"
EXPLICIT_DENY = "explicit_deny"
NO_MATCHING_RULE = "no_matching_rule"
#: Only when evaluation itself failed unexpectedly (a bug, never bad input): fail closed, say so.
EVALUATION_ERROR = "evaluation_error"


class Decision(Frozen, hidden=("_outcome",)):
    """The answer to one request.

    ``reason`` is ``"allowed"``, ``"explicit_deny"`` or ``"no_matching_rule"``; ``rules`` names the
    determining rules (matching deny rules when denied by rule, matching allow rules when allowed, empty
    for the default deny); ``route`` is the most specific policy route matching the request and
    ``path_params`` its parameters; ``considered`` lists rules whose route matched but whose conditions
    did not hold (worked out when first read: most decisions are never explained).
    """

    allowed: bool
    reason: str
    rules: tuple[str, ...]
    path_params: Mapping[str, str]
    route: str | None
    method: str
    path: str
    #: (statements that did not apply, deny and allow statements that did), for ``considered``
    _outcome: tuple[Any, Any, Any] | None

    # No __slots__: the engine builds a decision on every request by setting its instance dict in one
    # go (_decision, below), which is cheaper than a store per slot.
    _fields = ("allowed", "reason", "rules", "path_params", "route", "method", "path")

    def __init__(
        self,
        allowed: bool,
        reason: str,
        rules: tuple[str, ...],
        path_params: Mapping[str, str],
        route: str | None,
        method: str,
        path: str,
        _outcome: tuple[Any, Any, Any] | None = None,
    ) -> None:
        set_field(self, "allowed", allowed)
        set_field(self, "reason", reason)
        set_field(self, "rules", rules)
        set_field(self, "path_params", path_params)
        set_field(self, "route", route)
        set_field(self, "method", method)
        set_field(self, "path", path)
        set_field(self, "_outcome", _outcome)

    @property
    def considered(self) -> tuple[str, ...]:
        """Rules whose route matched but whose conditions did not hold, in file order."""
        if self._outcome is None:
            return ()
        missed, denied, allowed = self._outcome
        return _ids(missed, denied + allowed)

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
            request_segments(self.path) is None or request_method(self.method) is None
        ):
            return (
                f"{request or '(empty request)'} is denied by default: the method or path is not one "
                "API Gateway routes (a verb outside GET, POST, PUT, PATCH, DELETE, HEAD and OPTIONS; "
                "empty, '.' or '..' segments, a broken escape, no leading '/')."
            )
        return f"{request} is denied by default: no rule of the policy has a route matching it."


class RouteGrant(Frozen, hidden=("pattern",)):
    """A route a principal may call (or is denied), as the policy states it for that principal.

    ``path`` is the route template with claim-bound parameters replaced by the principal's values;
    ``bound_params`` gives those values; ``except_params`` lists parameter bindings the grant does *not*
    cover (from ``unless`` templates: a tenant guard denies every tenant except the caller's own);
    ``route`` is the policy route text the grant comes from.
    """

    __slots__ = ("bound_params", "except_params", "method", "path", "pattern", "route", "rule_ids")
    method: str | None
    path: str
    rule_ids: tuple[str, ...]
    route: str
    bound_params: Mapping[str, str]
    except_params: tuple[Mapping[str, str], ...]
    pattern: Pattern

    def __init__(
        self,
        method: str | None,
        path: str,
        rule_ids: tuple[str, ...],
        route: str = "",
        bound_params: Mapping[str, str] = _EMPTY,
        except_params: tuple[Mapping[str, str], ...] = (),
        pattern: Pattern = (),
    ) -> None:
        set_field(self, "method", method)
        set_field(self, "path", path)
        set_field(self, "rule_ids", rule_ids)
        set_field(self, "route", route)
        set_field(self, "bound_params", bound_params)
        set_field(self, "except_params", except_params)
        set_field(self, "pattern", pattern)

    def matches(self, method: str, path: str) -> bool:
        """Whether the concrete request falls under this grant (exceptions included)."""
        if self.method is None:
            return path == self.path
        verb = request_method(method)
        if verb is None or (self.method != "ANY" and self.method != verb):
            return False
        segments = request_segments(path)
        if segments is None:
            return False
        params = match_pattern(self.pattern, segments)
        if params is None:
            return False
        return not any(
            all(params.get(name) == value for name, value in exception.items())
            for exception in self.except_params
        )


class AllowedRoutes(Frozen):
    """What one principal may call: allow grants and the explicit deny grants that cut into them.

    A request is permitted exactly when some ``allowed`` grant matches and no ``denied`` grant does
    (:meth:`permits`), which equals ``decide`` when ``exact`` is true. ``exact`` is false only when a
    principal's list claims would need more than ``MAX_ALTERNATIVES`` bindings; then allow grants are
    under- and deny grants over-approximated, so :meth:`permits` never allows what ``decide`` denies.
    Allow grants that a deny grant without exceptions fully covers are left out.
    """

    __slots__ = ("allowed", "denied", "exact")
    allowed: tuple[RouteGrant, ...]
    denied: tuple[RouteGrant, ...]
    exact: bool

    def __init__(
        self,
        allowed: tuple[RouteGrant, ...],
        denied: tuple[RouteGrant, ...],
        exact: bool = True,
    ) -> None:
        set_field(self, "allowed", allowed)
        set_field(self, "denied", denied)
        set_field(self, "exact", exact)

    def permits(self, method: str, path: str) -> bool:
        """Whether the grants permit this concrete request."""
        return any(grant.matches(method, path) for grant in self.allowed) and not any(
            grant.matches(method, path) for grant in self.denied
        )


class _Statement(Frozen, hidden=("applies",)):
    """One rule on one of its routes; ``applies`` is its ``when``/``unless`` compiled into one call."""

    __slots__ = ("applies", "deny", "route", "rule_id", "rule_index", "unless", "when")
    rule_index: int
    rule_id: str
    deny: bool
    route: Route
    when: CompiledCondition | None
    unless: CompiledCondition | None
    applies: Test

    def __init__(
        self,
        rule_index: int,
        rule_id: str,
        deny: bool,
        route: Route,
        when: CompiledCondition | None,
        unless: CompiledCondition | None,
        applies: Test,
    ) -> None:
        set_field(self, "rule_index", rule_index)
        set_field(self, "rule_id", rule_id)
        set_field(self, "deny", deny)
        set_field(self, "route", route)
        set_field(self, "when", when)
        set_field(self, "unless", unless)
        set_field(self, "applies", applies)

    @classmethod
    def build(
        cls,
        rule_index: int,
        rule: Rule,
        route: Route,
        when: CompiledCondition | None,
        unless: CompiledCondition | None,
    ) -> _Statement:
        applies = _applies(
            when.tests if when is not None else (), unless.tests if unless is not None else None
        )
        return cls(rule_index, rule.id, rule.effect == "deny", route, when, unless, applies)

    def fires(self, subject: Claimant, params: Mapping[str, str]) -> bool:
        """``when`` holds and ``unless`` does not (every ``unless`` test holding skips the rule)."""
        return self.applies(subject, params)


def _all_hold(tests: tuple[Test, ...]) -> Test:
    """One callable for "every test holds", specialised for the usual one or two tests (each level of
    call costs on every request)."""
    if not tests:
        return lambda subject, params: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda subject, params: first(subject, params) and second(subject, params)

    def every(subject: Claimant, params: Mapping[str, str]) -> bool:
        for test in tests:  # noqa: SIM110 - a plain loop is faster than all() on this path
            if not test(subject, params):
                return False
        return True

    return every


def _applies(when: tuple[Test, ...], unless: tuple[Test, ...] | None) -> Test:
    """``when`` holds and not every ``unless`` test holds (no ``unless``: never skipped)."""
    holds = _all_hold(when)
    if unless is None:
        return holds
    skipped = _all_hold(unless)
    if not when:
        return lambda subject, params: not skipped(subject, params)
    return lambda subject, params: holds(subject, params) and not skipped(subject, params)


class _Entry:
    """One distinct route in the index, with the statements attached to it."""

    __slots__ = (
        "allow",
        "deny",
        "greedy_at",
        "has_params",
        "order",
        "param_at",
        "rank",
        "route",
        "sort_key",
        "statements",
        "text",
        "uses_params",
    )

    def __init__(self, route: Route, order: int) -> None:
        self.route = route
        self.order = order
        self.sort_key = (route.specificity(), order)
        #: position in the specificity order of all the policy's routes (set once compiled)
        self.rank = 0
        #: whether any attached rule compares a claim with a path parameter
        self.uses_params = False
        self.param_at = tuple(
            (index, name) for index, (kind, name) in enumerate(route.pattern) if kind == PARAM
        )
        self.greedy_at = next(
            ((index, name) for index, (kind, name) in enumerate(route.pattern) if kind == GREEDY), None
        )
        self.text = route.text
        self.has_params = bool(self.param_at) or self.greedy_at is not None
        self.allow: list[_Statement] = []
        self.deny: list[_Statement] = []
        #: deny and allow statements together (set once compiled)
        self.statements: tuple[_Statement, ...] = ()

    def params(self, segments: tuple[str, ...]) -> dict[str, str]:
        out: dict[str, str] = {}
        for index, name in self.param_at:  # a loop, not a comprehension: no frame per request
            out[name] = segments[index]
        if self.greedy_at is not None:
            index, name = self.greedy_at
            out[name] = "/".join(segments[index:])
        return out


class _Node:
    """A trie node: literal children, one parameter child, and the routes (by method, ``ANY`` apart)
    that end here or whose greedy parameter starts here."""

    __slots__ = ("greedy", "literals", "param", "terminal")

    def __init__(self) -> None:
        self.literals: dict[str, _Node] = {}
        self.param: _Node | None = None
        # by route method while compiling; then by request verb (see Policy._index_by_verb)
        self.greedy: dict[str | None, list[_Entry]] = {}
        self.terminal: dict[str | None, list[_Entry]] = {}


def _collect(node: _Node, segments: tuple[str, ...], verb: str, out: list[_Entry]) -> None:
    """Append the entries of every route matching ``segments`` for ``verb`` to ``out``: a verb of
    ``HTTP_METHODS``: its routes and the ``ANY`` ones (other verbs never get here: routing fact 7).

    A literal and the parameter child can both match a segment; only then is a branch remembered, so
    the usual walk is one pass down the path, never a visit of the rules."""
    count = len(segments)
    index = 0
    stack: list[tuple[_Node, int]] | None = None
    while True:
        found = node.terminal if index == count else node.greedy
        if found:
            entries = found.get(verb)
            if entries:
                out.extend(entries)
        if index < count:
            child = node.literals.get(segments[index]) if node.literals else None
            param = node.param
            if child is not None:
                if param is not None:
                    if stack is None:
                        stack = []
                    stack.append((param, index + 1))
                node = child
                index += 1
                continue
            if param is not None:
                node = param
                index += 1
                continue
        if not stack:
            return
        node, index = stack.pop()


# A rule's compiled `when`, whether its `unless` tests claims, and its statements (allowed_routes).
_RuleStatements = tuple[CompiledCondition | None, bool, tuple[_Statement, ...]]
# What Policy._decide finds: allowed, reason, the determining rules, the best route's parameters when a
# condition read them (else None: `decide` reads them off the best route and the segments, `verdict`
# never does), the best route's entry (None when no route matched), the request's segments, and the
# outcome `considered` reads.
_Verdict = tuple[
    bool,
    str,
    tuple[str, ...],
    "dict[str, str] | None",
    "_Entry | None",
    tuple[str, ...],
    "tuple[list[_Statement], list[_Statement], list[_Statement]] | None",
]
# No route matched (or the verb or path is not one API Gateway routes).
_NO_ROUTE: _Verdict = (False, NO_MATCHING_RULE, (), None, None, (), None)


class Policy:
    """A loaded, validated and compiled policy. Immutable and safe to share across threads."""

    def __init__(self, document: PolicyDocument, *, source: str = "<dict>") -> None:
        self.document = document
        self.source = source
        #: the rules, in file order: the typed, public view other layers read the policy through
        self.rules: tuple[Rule, ...] = document.rules
        self.declared_groups: tuple[str, ...] | None = document.groups
        #: the API's route table from the file's ``api:`` section, ``None`` without one
        self.api: ApiTable | None = (
            ApiTable(document.api, source=source) if document.api is not None else None
        )
        #: The token use the policy file declares (``token_use:``), or None.
        self.token_use: Literal["id", "access"] | None = document.token_use
        self._entries: dict[str, _Entry] = {}
        self._statements: list[_Statement] = []
        self._root = _Node()
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
                statement = _Statement.build(rule_index, rule, route, when, unless)
                (entry.deny if statement.deny else entry.allow).append(statement)
                entry.uses_params = entry.uses_params or any(
                    condition is not None and condition.uses_params for condition in (when, unless)
                )
                self._statements.append(statement)
        # allowed_routes' groups: per rule, its compiled `when`, whether its `unless` tests claims, and
        # its statements (one per route), so a `when` failing on groups or scopes is read once per rule.
        by_rule: dict[int, list[_Statement]] = {}
        for statement in self._statements:
            by_rule.setdefault(statement.rule_index, []).append(statement)
        self._rule_statements: tuple[_RuleStatements, ...] = tuple(
            (
                group[0].when,
                group[0].unless is not None and bool(group[0].unless.claim_tests),
                tuple(group),
            )
            for group in by_rule.values()
        )
        for rank, entry in enumerate(sorted(self._entries.values(), key=_sort_key)):
            entry.rank = rank
            entry.statements = (*entry.deny, *entry.allow)
        self._index_by_verb()

    def _index_by_verb(self) -> None:
        """Re-key every node's route lists by request verb, ``ANY`` routes merged into each, so a
        decision does one lookup per node reached."""
        pending = [self._root]
        while pending:
            node = pending.pop()
            for by_method in (node.terminal, node.greedy):
                if not by_method:
                    continue
                any_routes = by_method.pop("ANY", [])
                merged: dict[str | None, list[_Entry]] = {
                    verb: [*by_method.get(verb, []), *any_routes] for verb in HTTP_METHODS
                }
                by_method.clear()
                by_method.update({verb: entries for verb, entries in merged.items() if entries})
            pending.extend(node.literals.values())
            if node.param is not None:
                pending.append(node.param)

    def _insert(self, entry: _Entry) -> None:
        route = entry.route
        if route.method is None:
            self._websocket[route.path] = entry
            return
        node = self._root
        for kind, text in route.pattern:
            if kind == GREEDY:
                node.greedy.setdefault(route.method, []).append(entry)
                return
            if kind == LITERAL:
                node = node.literals.setdefault(text, _Node())
            else:
                if node.param is None:
                    node.param = _Node()
                node = node.param
        node.terminal.setdefault(route.method, []).append(entry)

    # --- deciding ----------------------------------------------------------------------------------

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with this id, if any."""
        return next((rule for rule in self.rules if rule.id == rule_id), None)

    def decide(self, principal: Principal, method: str, path: str) -> Decision:
        """Decide one request. Never raises: nonsense input is a denied :class:`Decision`."""
        shown_method = method if isinstance(method, str) else ""
        shown_path = path if isinstance(path, str) else ""
        try:
            allowed, reason, rules, params, best, segments, outcome = self._decide(
                principal, shown_method, shown_path
            )
            if params is None and best is not None and best.has_params:
                params = best.params(segments)
        except Exception:
            # Fail closed on a bug rather than let an exception escape an authorizer.
            return _decision(False, EVALUATION_ERROR, (), _EMPTY, None, shown_method, shown_path, None)
        return _decision(
            allowed,
            reason,
            rules,
            MappingProxyType(params) if params else _EMPTY,
            best.text if best is not None else None,
            shown_method,
            shown_path,
            outcome,
        )

    def verdict(self, principal: Principal, method: str, path: str) -> tuple[bool, tuple[str, ...]]:
        """``decide``'s ``allowed`` and ``rules`` without building the :class:`Decision`, for an adapter
        that reads nothing else (the Lambda authorizer, on every request). Never raises: an evaluation
        error is a no with no rules, as ``decide`` answers it."""
        try:
            allowed, _reason, rules, _params, _best, _segments, _outcome = self._decide(
                principal,
                method if isinstance(method, str) else "",
                path if isinstance(path, str) else "",
            )
        except Exception:
            return False, ()
        return allowed, rules

    def _match(self, method: str, path: str) -> tuple[list[_Entry], tuple[str, ...]]:
        if path.startswith("$"):
            entry = self._websocket.get(path)
            return ([entry] if entry is not None else []), ()
        verb = _VERBS.get(method) or request_method(method)
        segments = request_segments(path)
        matched: list[_Entry] = []
        if verb is None or segments is None:
            return matched, ()
        _collect(self._root, segments, verb, matched)
        return matched, segments

    def _decide(self, principal: Principal, method: str, path: str) -> _Verdict:
        # This runs on every request: matching is inlined from _match, and lists are built once. The
        # parts of the Decision, not the Decision: decide builds it, verdict does not need it.
        if path[:1] == "$":
            entry = self._websocket.get(path)
            if entry is None:
                return _NO_ROUTE
            matched = [entry]
            segments: tuple[str, ...] = ()
        else:
            # Verbs outside the standard seven are denied (routing fact 7: unknown at the gateway).
            verb = _VERBS.get(method) or request_method(method)
            if (
                path[:1] == "/"
                and len(path) <= MAX_PATH
                and path.isascii()
                and path.isprintable()
                and "%" not in path
                and "/." not in path
            ):
                # split_path's fast path, inlined (same conditions; an empty segment, such as the one a
                # trailing slash leaves, falls through to request_segments)
                parts = path[1:].split("/")
                found = tuple(parts) if "" not in parts else request_segments(path)
            else:
                found = request_segments(path)
            if verb is None or found is None:
                return _NO_ROUTE
            segments = found
            matched = []
            _collect(self._root, segments, verb, matched)
            if not matched:
                return _NO_ROUTE
        best = matched[0]
        for entry in matched:
            if entry.rank < best.rank:
                best = entry
        if not isinstance(principal, Principal):
            return (False, NO_MATCHING_RULE, (), None, best, segments, None)
        subject = view(principal)
        denied: list[_Statement] = []
        allowed: list[_Statement] = []
        missed: list[_Statement] = []
        # The best route's parameters only when a condition reads them (decide works them out itself
        # otherwise; verdict never needs them).
        best_dict = None
        for entry in matched:
            if not entry.uses_params:
                params: Mapping[str, str] = _EMPTY
            else:
                params = entry.params(segments)
                if entry is best:
                    best_dict = params
            for statement in entry.statements:
                if not statement.applies(subject, params):
                    missed.append(statement)
                elif statement.deny:
                    denied.append(statement)
                else:
                    allowed.append(statement)
        outcome = (missed, denied, allowed) if missed else None
        if denied:
            rules = (denied[0].rule_id,) if len(denied) == 1 else _ids(denied)
            return (False, EXPLICIT_DENY, rules, best_dict, best, segments, outcome)
        if allowed:
            rules = (allowed[0].rule_id,) if len(allowed) == 1 else _ids(allowed)
            return (True, ALLOWED, rules, best_dict, best, segments, outcome)
        return (False, NO_MATCHING_RULE, (), best_dict, best, segments, outcome)

    def explain(self, principal: Principal, method: str, path: str) -> str:
        """A multi-line account of the decision: every matching route and rule, and which conditions
        held. For people (the CLI's ``explain``); adapters use :meth:`decide`."""
        decision = self.decide(principal, method, path)
        lines = [decision.explain()]
        if not isinstance(principal, Principal):
            lines.append("  (no principal: nothing can be evaluated)")
            return "\n".join(lines)
        matched, segments = self._match(decision.method, decision.path)
        subject = view(principal)
        for entry in sorted(matched, key=_rank):
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
        subject = view(principal)
        exact = True
        grants: dict[tuple[Any, ...], tuple[bool, int, RouteGrant, list[str]]] = {}
        for when, unless_claims, statements in self._rule_statements:
            if when is not None and not when.static_holds(subject):
                # Groups, scopes, token use or client fail the rule's `when`: no route of the rule
                # grants anything (checked once per rule, not per route). Only an `unless` whose claim
                # tests run out of alternatives can still make the result inexact, as it did per route.
                for statement in statements if unless_claims else ():
                    unless = statement.unless
                    if unless is not None and unless.alternatives(subject, statement.route) is None:
                        exact = False
                continue
            for statement in statements:
                exact = self._grant_statement(statement, subject, grants) and exact
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

    def _grant_statement(
        self,
        statement: _Statement,
        subject: Claimant,
        grants: dict[tuple[Any, ...], tuple[bool, int, RouteGrant, list[str]]],
    ) -> bool:
        """Add ``statement``'s grants for ``subject`` to ``grants``; whether they are exact."""
        exact = True
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
                return exact
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
        return exact

    # --- lint --------------------------------------------------------------------------------------

    def lint(self, *, token_use: Literal["id", "access"] | None = None) -> list[LintFinding]:
        """Problems a reviewer should see: see :mod:`cognito_authz.policy.lint`. ``token_use`` (default:
        the policy file's ``token_use``) says which tokens the policy decides on."""
        from cognito_authz.policy.lint import lint_policy  # lint is a review tool, not on the start-up path

        return lint_policy(self, token_use=token_use)

    def __repr__(self) -> str:
        return f"Policy(source={self.source!r}, rules={len(self.rules)}, routes={len(self.routes)})"


def _sort_key(entry: _Entry) -> tuple[Any, ...]:
    return entry.sort_key


def _rank(entry: _Entry) -> int:
    return entry.rank


_RULE_INDEX = attrgetter("rule_index")


def _ids(statements: list[_Statement], exclude: list[_Statement] | None = None) -> tuple[str, ...]:
    """Rule ids of ``statements`` in file order, each once, leaving out the rules of ``exclude``."""
    # Plain loops and a C sort key, no comprehensions: this runs once or twice per request.
    if len(statements) > 1:
        statements = sorted(statements, key=_RULE_INDEX)
    out: list[str] = []
    last = -1
    for statement in statements:
        index = statement.rule_index
        if index == last:
            continue
        last = index
        if exclude:
            for other in exclude:
                if other.rule_index == index:
                    break
            else:
                out.append(statement.rule_id)
        else:
            out.append(statement.rule_id)
    return tuple(out)


_new_object = object.__new__
_set_attribute = object.__setattr__


def _decision(
    allowed: bool,
    reason: str,
    rules: tuple[str, ...],
    path_params: Mapping[str, str],
    route: str | None,
    method: str,
    path: str,
    outcome: tuple[list[_Statement], list[_Statement], list[_Statement]] | None,
) -> Decision:
    """``Decision(...)`` without ``object.__setattr__`` per field: the instance
    dict is set in one go (a decision is built on every request; this is a third of the cost)."""
    decision: Decision = _new_object(Decision)
    _set_attribute(
        decision,
        "__dict__",
        {
            "allowed": allowed,
            "reason": reason,
            "rules": rules,
            "path_params": path_params,
            "route": route,
            "method": method,
            "path": path,
            "_outcome": outcome,
        },
    )
    return decision


def _trace(statement: _Statement, subject: Claimant, params: Mapping[str, str]) -> str:
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
