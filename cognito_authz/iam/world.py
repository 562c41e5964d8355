"""What ``decide`` and routing depend on, read from the policy's typed public interface (soundness part).

``decide`` depends on a request segment only through its equality with route literals and, for a
parameter, with the values of the claims a ``"{param}"`` template compares with it (step 1 of the argument
in ``docs/architecture.md``, "Cached authorizer answers are exact"). :func:`request_patterns` turns that
into patterns: every table route (what is routable), every policy route, and every policy route with one
parameter bound to one of the principal's compared values. A route matches a word in one way only (its
greedy parameter, if any, is last), so which of the single-binding variants accept a word says exactly
which compared values each parameter equals: no product of bindings is ever built.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from threading import Lock
from types import MappingProxyType
from typing import Any

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.iam.classes import Budget
from cognito_authz.iam.patterns import SegmentPattern, route_pattern
from cognito_authz.policy import Policy
from cognito_authz.policy.conditions import MAX_ALTERNATIVES, claim_items, claim_text
from cognito_authz.policy.model import Condition, template_param
from cognito_authz.policy.routes import LITERAL, Route
from cognito_authz.principal import Principal
from cognito_authz.routing import STANDARD_VERBS, request_segments

__all__ = [
    "PolicyFacts",
    "allowing_routes",
    "binding_count",
    "claim_texts",
    "decide_cost",
    "deciding_routes",
    "policy_facts",
    "request_patterns",
    "table_takes_any_head",
    "value_segments",
]

VERBS: tuple[str, ...] = tuple(sorted(STANDARD_VERBS))


class Template(Frozen):
    """``claim`` equals parameter ``param`` of ``route`` (in some rule's ``when`` or ``unless``)."""

    __slots__ = ("claim", "param", "route")
    route: Route
    param: str
    claim: str

    def __init__(self, route: Route, param: str, claim: str) -> None:
        set_field(self, "route", route)
        set_field(self, "param", param)
        set_field(self, "claim", claim)


class PolicyFacts(Frozen, hidden=("by_verb", "route_of")):
    """Computed once per policy: its HTTP routes, templates, the table and every literal they hold."""

    __slots__ = (
        "by_verb",
        "condition_claims",
        "flag_claims",
        "literals",
        "route_of",
        "routes",
        "table",
        "templated_claims",
        "templates",
        "websocket_keys",
    )
    routes: tuple[Route, ...]
    route_of: Mapping[str, Route]  # the policy's HTTP routes by their text
    # Filled lazily by request_patterns, per verb: route patterns by their first segment (a cache)
    by_verb: dict[str, Any]
    templates: tuple[Template, ...]
    table: tuple[Route, ...] | None  # None: no table, every well-formed request is routable
    websocket_keys: tuple[str, ...]
    # Every literal a request segment or a claim value is compared with: route and table segments and
    # literal claim values of conditions. A renaming must fix all of them (see renaming.py).
    literals: frozenset[str]
    condition_claims: tuple[str, ...]
    templated_claims: frozenset[str]
    # Claims some condition compares with a boolean: "True" and "true" compare alike there, so their
    # values are never renamed.
    flag_claims: frozenset[str]

    def __init__(
        self,
        routes: tuple[Route, ...],
        templates: tuple[Template, ...],
        table: tuple[Route, ...] | None,
        websocket_keys: tuple[str, ...],
        literals: frozenset[str],
        condition_claims: tuple[str, ...],
        templated_claims: frozenset[str],
        flag_claims: frozenset[str],
    ) -> None:
        set_field(self, "routes", routes)
        set_field(self, "route_of", MappingProxyType({route.text: route for route in routes}))
        set_field(self, "by_verb", {})
        set_field(self, "templates", templates)
        set_field(self, "table", table)
        set_field(self, "websocket_keys", websocket_keys)
        set_field(self, "literals", literals)
        set_field(self, "condition_claims", condition_claims)
        set_field(self, "templated_claims", templated_claims)
        set_field(self, "flag_claims", flag_claims)


def _condition_parts(condition: Condition | None) -> Iterable[tuple[str, object]]:
    for claim, spec in (condition.claims or {}).items() if condition is not None else ():
        for value in spec if isinstance(spec, tuple) else (spec,):
            yield claim, value


def _build_facts(policy: Policy) -> PolicyFacts:
    routes: dict[str, Route] = {}
    websocket: dict[str, None] = {}
    templates: dict[Template, None] = {}
    literals: set[str] = set()
    claims: set[str] = set()
    flags: set[str] = set()
    for rule in policy.rules:
        for route in rule.routes:
            if route.method is None:
                websocket[route.path] = None
            else:
                routes.setdefault(route.text, route)
        for condition in (rule.when, rule.unless):
            for claim, value in _condition_parts(condition):
                claims.add(claim)
                name = template_param(value)
                if isinstance(value, bool):
                    flags.add(claim)
                if name is None:
                    literals.add(claim_text(value) or "")
                    continue
                for route in rule.routes:
                    if name in route.params:
                        templates[Template(route, name, claim)] = None
    api = policy.api
    table = None if api is None or not api.routes else tuple(r for r in api.routes if r.method is not None)
    for route in (*routes.values(), *(table or ())):
        literals.update(text for kind, text in route.pattern if kind == LITERAL)
    return PolicyFacts(
        routes=tuple(routes.values()),
        templates=tuple(templates),
        table=table,
        websocket_keys=tuple(websocket),
        literals=frozenset(literals),
        condition_claims=tuple(sorted(claims)),
        templated_claims=frozenset(t.claim for t in templates),
        flag_claims=frozenset(flags),
    )


_FACTS: dict[int, tuple[Policy, PolicyFacts]] = {}
_FACTS_LOCK = Lock()


def policy_facts(policy: Policy) -> PolicyFacts:
    """:class:`PolicyFacts` for ``policy``, computed once (the cache entry keeps the policy alive, so its
    id cannot be reused while the entry exists)."""
    with _FACTS_LOCK:
        hit = _FACTS.get(id(policy))
    if hit is not None and hit[0] is policy:
        return hit[1]
    facts = _build_facts(policy)
    with _FACTS_LOCK:
        if len(_FACTS) >= 64:
            _FACTS.pop(next(iter(_FACTS)))
        _FACTS[id(policy)] = (policy, facts)
    return facts


def claim_texts(principal: Principal, claim: str) -> tuple[str, ...]:
    """The texts ``decide`` compares ``claim`` as (list claims item by item), in first-seen order."""
    items = claim_items(principal, claim) or ()
    return tuple(dict.fromkeys(t for t in (claim_text(item) for item in items) if t is not None))


def binding_count(policy: Policy, principal: Principal) -> int:
    """At most how many parameter bindings ``Policy.allowed_routes`` enumerates for ``principal``: per rule
    condition and route, the product over its claim-bound parameters of the claim's values (a list claim
    binds once per value), each capped just above ``MAX_ALTERNATIVES``, where the enumeration gives up.
    Known before any of them is built, so a token whose lists multiply runs out of budget at once."""
    total = 0
    for rule in policy.rules:
        for condition in (rule.when, rule.unless):
            bound: dict[str, int] = {}
            for claim, value in _condition_parts(condition):
                name = template_param(value)
                if name is not None:
                    bound[name] = bound.get(name, 0) + len(claim_texts(principal, claim))
            for route in rule.routes if bound else ():
                product = 1
                for param in route.params:
                    product = min(product * bound.get(param, 1), MAX_ALTERNATIVES + 1)
                total += product
    return total


def decide_cost(facts: PolicyFacts, principal: Principal) -> int:
    """Work units for one ``decide`` on a representative (see ``builder.WORK_BUDGET``): about 8 us, plus
    the comparisons of path parameters with list claims, linear in the claim's values (about 0.17 us
    each; 1,500 values make one decide take 250 us)."""
    return 8 + sum(len(claim_texts(principal, t.claim)) for t in facts.templates) // 6


def value_segments(value: str, greedy: bool) -> tuple[str, ...] | None:
    """The canonical segments a parameter must have to equal ``value``; ``None`` if no request can."""
    parts = tuple(value.split("/")) if greedy else (value,)
    return parts if request_segments("/" + value) == parts else None


def _may_hold(condition: Condition, principal: Principal) -> bool:
    """False only when ``condition`` cannot hold for ``principal`` whatever the request: it names groups
    or scopes the principal lacks (``groups``/``scopes`` any of, ``all_groups``/``all_scopes`` every one,
    as ``Condition`` says). Read only from a principal whose lists are plain tuples, which ``decide``
    reads as they are; anything else may hold."""
    for names, held, every in (
        (condition.groups, principal.groups, False),
        (condition.all_groups, principal.groups, True),
        (condition.scopes, principal.scopes, False),
        (condition.all_scopes, principal.scopes, True),
    ):
        if names is None or type(held) is not tuple:
            continue
        if every and not set(names).issubset(held):
            return False
        if not every and set(names).isdisjoint(held):
            return False
    return True


def allowing_routes(policy: Policy, principal: Principal, budget: Budget) -> frozenset[str]:
    """The texts of the policy routes named by an allow rule whose ``when`` may hold for ``principal``.

    ``decide`` allows a request only when an allow rule's route matches it and the rule's conditions
    hold, so every request it allows is matched by one of these routes. Read from the policy's model,
    not from ``Policy.allowed_routes`` (which the choice uses, as a hint)."""
    budget.spend(len(policy.rules) // 2 + 1)
    out: set[str] = set()
    for rule in policy.rules:
        if rule.effect == "allow" and (rule.when is None or _may_hold(rule.when, principal)):
            out.update(route.text for route in rule.routes if route.method is not None)
    return frozenset(out)


def deciding_routes(policy: Policy, allowing: frozenset[str], budget: Budget) -> frozenset[str]:
    """The texts of the policy routes whose matching can change ``decide``'s verdict for a principal
    whose :func:`allowing_routes` are ``allowing``: those, plus the routes of every deny rule.

    ``decide`` allows a request when an allow rule that applies matches it and no deny rule that
    applies does; a rule whose ``when`` cannot hold never applies, so whether its routes match a
    request changes nothing ``decide`` answers (only which rules it lists as missed). Every deny rule is
    kept, whatever its conditions: the check reads no more of a deny rule than its routes."""
    budget.spend(len(policy.rules) // 2 + 1)
    out = set(allowing)
    for rule in policy.rules:
        if rule.effect != "allow":
            out.update(route.text for route in rule.routes if route.method is not None)
    return frozenset(out)


# A pattern's first segment when it is a literal ('' for the root's patterns: no token, or an empty one
# first, which only the root "/" can match), else None: a pattern that can take any first segment (a
# parameter, or a glob's '*').
Head = str | None


def head_of(pattern: SegmentPattern) -> Head:
    first = pattern.tokens[0] if pattern.tokens else ""
    return first if isinstance(first, str) else None


def heads_of(facts: PolicyFacts, texts: Iterable[str], verb: str) -> set[Head]:
    """The heads (see :func:`head_of`) of the policy routes named by ``texts`` on ``verb``."""
    return {
        head_of(route_pattern(route))
        for text in texts
        if (route := facts.route_of.get(text)) is not None and route.method in ("ANY", verb)
    }


# Per policy and verb (not per token): the table's and the policy's own route patterns by head, and the
# policy route texts behind each policy pattern. Built once per policy, like PolicyFacts, and not charged
# to any proof, so the same token always spends the same units.
_ByHead = dict[Head, list[tuple[SegmentPattern, frozenset[str]]]]


def _verb_patterns(facts: PolicyFacts, verb: str) -> tuple[_ByHead, _ByHead]:
    found = facts.by_verb.get(verb)
    if found is None:
        table: _ByHead = {}
        for route in facts.table or ():
            if route.method in ("ANY", verb):
                pattern = route_pattern(route)
                table.setdefault(head_of(pattern), []).append((pattern, frozenset((route.text,))))
        texts: dict[SegmentPattern, set[str]] = {}
        for route in facts.routes:
            if route.method in ("ANY", verb):
                texts.setdefault(route_pattern(route), set()).add(route.text)
        policy: _ByHead = {}
        for pattern, named in texts.items():
            policy.setdefault(head_of(pattern), []).append((pattern, frozenset(named)))
        found = facts.by_verb[verb] = (table, policy)
    return found


def table_takes_any_head(facts: PolicyFacts, verb: str) -> bool:
    """Whether a table route on ``verb`` starts with a parameter (reaches every first segment)."""
    return None in _verb_patterns(facts, verb)[0]


def request_patterns(
    facts: PolicyFacts,
    principal: Principal,
    verb: str,
    budget: Budget,
    heads: Collection[Head] | None = None,
) -> tuple[list[SegmentPattern], list[SegmentPattern], list[frozenset[str]]]:
    """(table patterns, policy patterns, the policy route texts behind each policy pattern) that apply
    to ``verb`` for ``principal`` (see the module doc).

    ``heads`` (``None``: all) keeps only the patterns whose first segment is one of them, plus those
    that can take any first segment (head ``None``) and the root's (head ``""``): a walk asked only
    about words starting with these heads never steps the others past the first segment, where they
    die, and they accept neither the root nor any word it is asked about."""
    table_by_head, policy_by_head = _verb_patterns(facts, verb)
    # In a fixed order (never a set's): the walk's representatives, and so the choice, follow it.
    if heads is None:
        keys = list(dict.fromkeys([*table_by_head, *policy_by_head]))
    else:
        keys = [None, "", *sorted(head for head in heads if head)]
    budget.spend(len(keys) // 8 + 1)
    table = [pattern for key in keys for pattern, _texts in table_by_head.get(key, ())]
    policy: dict[SegmentPattern, frozenset[str]] = {
        pattern: texts for key in keys for pattern, texts in policy_by_head.get(key, ())
    }
    for template in facts.templates:
        route = template.route
        if route.method not in ("ANY", verb):
            continue
        greedy = route.greedy and route.params[-1] == template.param
        for text in claim_texts(principal, template.claim):
            budget.spend(2)  # a canonical check and a pattern: about 2 us
            segments = value_segments(text, greedy)
            if segments is None:
                continue
            variant = route_pattern(route, {template.param: segments})
            if heads is None or head_of(variant) in keys:
                policy[variant] = policy.get(variant, frozenset()) | {route.text}
    budget.spend(len(table) + len(policy))  # what the walk is handed
    return table, list(policy), list(policy.values())
