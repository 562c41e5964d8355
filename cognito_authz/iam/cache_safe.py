"""Cache-safe, principal-wide IAM documents: one document per token that stays right for every route.

With authorizer caching on, API Gateway reuses the returned policy for every request the same token makes,
so the document must answer every route exactly as ``Policy.decide`` would. IAM can only say it with globs
(``*`` spans ``/``) and deny-overrides, so the document is *synthesized and proven*, never guessed:

1. A request is a word ``[verb, segment, ...]``. ``decide`` depends on a segment only through equality
   with route literals and, for a parameter, with the values of the claims some condition compares with
   that parameter (a ``"{param}"`` template on that route, in any rule); a glob of whole-segment tokens
   depends on a segment only through equality with its literal tokens. So the product of the
   route-matching automaton (every route of the policy, remembering for each parameter only which of
   its compared claim values it equals, if any) and the automata of a pool of candidate patterns has
   finitely many states, and every state is one class of requests with one ``decide`` answer and one
   set of matching patterns. We walk that product from every verb class.
2. From the classes, pick Allow patterns and Deny patterns: a Deny may never match an allowed class, and
   every denied class an Allow reaches must be reached by a chosen Deny. If some allowed class cannot be
   covered that way the principal's permissions need negation ("any tenant except acme"), which IAM
   cannot express: the result is a request-scoped document for the current ARN only.
3. Self-check the emitted document against ``decide`` on one concrete request per class (the document
   evaluated as IAM does, by its Resources compiled to regular expressions: never by the pattern
   automata); any disagreement also falls back to request scope.

The pool is what makes this fast or slow, never what makes it sound: it starts small, shaped after the
statements that can fire for the principal (``Policy.allowed_routes``: allow statements with their
carve-outs, then deny statements too) and only grows to every route with every claim value if some
allowed class stays uncovered. The classes always span every route. One deterministic work budget bounds
the whole proof (a few tens of milliseconds); running out of it means a request-scoped document, logged.

Soundness is over every well-formed request (no empty, ``.`` or ``..`` segment), not only the routes the
policy lists, so an API route missing from the policy file is denied by the document as ``decide`` denies
it. Requests whose ``methodArn`` carries percent-escapes are denied outright by documents that rely on a
Deny carve-out, because IAM compares raw text while ``decide`` compares decoded segments.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import product
from threading import Lock
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from cognito_authz.iam.arn import HTTP_VERBS, MethodArn
from cognito_authz.iam.document import Statement, document_size, iam_allows, policy_document
from cognito_authz.principal import Principal

if TYPE_CHECKING:
    from collections import OrderedDict

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_RESOURCE_LENGTH",
    "CacheSafety",
    "PolicyResult",
    "build_principal_policy",
    "cache_safety",
    "request_policy",
]

logger = logging.getLogger("cognito_authz.iam")

#: Default ceiling for a principal-wide document (compact JSON bytes). API Gateway bounds the whole
#: authorizer response; 8 KiB leaves room for ``principalId`` and ``context``.
DEFAULT_MAX_BYTES = 8192
#: API Gateway limits each ``Resource`` ARN in an authorizer policy to 512 characters.
MAX_RESOURCE_LENGTH = 512
# Work allowed for one principal's proof, all attempts together (see _Budget): about 2 us per unit, so a
# few tens of milliseconds at most; beyond it the principal gets request-scoped documents (logged).
_WORK_BUDGET = 15_000
# What a decide call costs against it, and how many (class, pattern) pairs of the solver make one unit.
_DECIDE_COST = 4
_SOLVE_UNIT = 16
# Upper bound on claim-value combinations tried for the parameters of one route.
_COMBO_BUDGET = 32

Scope = Literal["principal", "request"]


# --- what we read from the policy engine (structural, so iam never imports the engine) ---------------


class _RouteLike(Protocol):
    @property
    def method(self) -> str | None: ...

    @property
    def path(self) -> str: ...

    @property
    def text(self) -> str: ...


class _DecisionLike(Protocol):
    @property
    def allowed(self) -> bool: ...

    @property
    def rules(self) -> tuple[str, ...]: ...


class PolicyLike(Protocol):
    """The part of ``cognito_authz.policy.Policy`` this module uses."""

    @property
    def routes(self) -> Sequence[Any]: ...

    @property
    def rules(self) -> Sequence[Any]: ...

    def decide(self, principal: Principal, method: str, path: str) -> Any: ...


# --- results -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """A generated document and how far it may be cached.

    ``scope`` is ``"principal"`` when the document is exact for every route (safe to cache per token), or
    ``"request"`` when it only covers the current ARN; ``reason`` is then a stable code
    (``inexpressible``, ``too_large``, ``resource_too_long``, ``unexpressible_claim_value``,
    ``analysis_budget``, ``self_check_failed``) and ``detail`` says more. ``size`` is the byte length of
    the document as compact JSON. ``rules`` names the policy rules that made a principal-wide document
    impossible, when known.
    """

    document: dict[str, Any]
    scope: Scope
    reason: str
    size: int
    detail: str = ""
    rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CacheSafety:
    """Whether a policy admits exact principal-wide documents for every principal (known at load).

    ``blocking_rules`` are the rule ids whose shape forces request-scoped documents for some principals;
    ``advice`` tells the operator how to configure the authorizer cache for such a policy.
    """

    safe: bool
    blocking_rules: tuple[str, ...]
    advice: str
    findings: tuple[str, ...] = ()


ADVICE = (
    "This policy cannot always be expressed as one principal-wide IAM document, so the authorizer "
    "returns a request-scoped policy for affected callers. With authorizer caching on, such a policy would "
    "be reused for other routes: use a REQUEST authorizer with context.httpMethod and context.resourcePath "
    "(HTTP APIs: IAM responses, not simple ones, and $context.routeKey) in the identity sources so the cache "
    "is per route (a cached request-scoped document never allows another path, but may refuse a second path "
    "of the same route until the TTL ends), or turn caching off (TTL 0) for a TOKEN authorizer."
)
SAFE_ADVICE = "Every principal gets an exact principal-wide document; authorizer caching per token is safe."


# --- the model: routes, pattern tokens ----------------------------------------------------------------


class _Star:
    """The ``*`` glob token (a sentinel, so a literal segment ``*`` can never be mistaken for it)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "*"


STAR = _Star()
_LIT, _PARAM, _GREEDY = 0, 1, 2
_ALL_VERBS = frozenset(HTTP_VERBS)
# A pattern token: the verb position holds STAR or a set of verbs; path positions STAR or a literal.
Token = Any
PatternTokens = tuple[Token, ...]


@dataclass(frozen=True, slots=True)
class _Route:
    method: str  # verb or "ANY"
    text: str
    tokens: tuple[tuple[int, str], ...]  # (kind, literal text or parameter name)


def _parse_template(path: str) -> tuple[tuple[int, str], ...] | None:
    if path == "/":
        return ()
    if not path.startswith("/"):
        return None
    out: list[tuple[int, str]] = []
    for segment in path[1:].split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            if name.endswith("+"):
                out.append((_GREEDY, name[:-1]))
            else:
                out.append((_PARAM, name))
        else:
            out.append((_LIT, segment))
    return tuple(out)


def _glob_safe(text: str) -> bool:
    # Text that may appear verbatim inside a Resource: no glob characters, and no '%' because IAM
    # compares raw text while the engine compares decoded segments.
    return not any(ch in text for ch in "*?%") and all(ord(ch) > 0x20 and ord(ch) != 0x7F for ch in text)


def _segment_ok(text: str) -> bool:
    """Could a canonical request segment equal ``text``?"""
    return text not in ("", ".", "..") and "/" not in text and all(ord(ch) >= 0x20 for ch in text)


@dataclass(frozen=True)
class _PolicyModel:
    """What is computed once per policy: parsed routes and which claims templates bind to which params."""

    routes: tuple[_Route, ...]
    websocket_keys: tuple[str, ...]
    explicit_verbs: tuple[str, ...]
    # (route text, param) -> claim names bound by a template there; None when rules cannot be read.
    bindings: dict[tuple[str, str], frozenset[str]] | None
    condition_claims: frozenset[str] | None
    rule_shapes: tuple[str, ...] = field(default=())
    # Claims that conditions compare with path parameters only (templates), never with a literal: a
    # document depends on their values only through equality (see _renaming).
    symbolic_claims: frozenset[str] = field(default=frozenset())
    # Every literal path segment and WebSocket key of the policy.
    literals: frozenset[str] = field(default=frozenset())
    # route text -> parsed route
    by_text: dict[str, _Route] = field(default_factory=dict)
    # condition_claims and symbolic_claims sorted once (memo keys and renamings list them in this order).
    condition_order: tuple[str, ...] = field(default=())
    symbolic_order: tuple[str, ...] = field(default=())


def _template_name(value: object) -> str | None:
    if isinstance(value, str) and len(value) > 2 and value[0] == "{" and value[-1] == "}":
        inner = value[1:-1]
        if inner and "{" not in inner and "}" not in inner:
            return inner
    return None


def _condition_claims(condition: Any) -> Mapping[str, Any]:
    if condition is None:
        return {}
    claims = getattr(condition, "claims", None)
    return claims if isinstance(claims, Mapping) else {}


def _spec_values(spec: Any) -> tuple[Any, ...]:
    return tuple(spec) if isinstance(spec, tuple | list) else (spec,)


def _route_of(value: Any) -> tuple[str | None, str, str] | None:
    method = getattr(value, "method", None)
    path = getattr(value, "path", None)
    text = getattr(value, "text", None)
    if not isinstance(path, str):
        return None
    return method, path, text if isinstance(text, str) else f"{method} {path}"


def _build_model(policy: PolicyLike) -> _PolicyModel:
    routes: list[_Route] = []
    websocket: list[str] = []
    for route in policy.routes:
        parsed = _route_of(route)
        if parsed is None:
            continue
        method, path, text = parsed
        if method is None:
            websocket.append(path)
            continue
        tokens = _parse_template(path)
        if tokens is not None:
            routes.append(_Route(method, text, tokens))
    explicit = tuple(v for v in HTTP_VERBS if any(r.method == v for r in routes))
    found: dict[tuple[str, str], frozenset[str]] = {}
    mentioned: set[str] = set()
    templated: set[str] = set()
    compared: set[str] = set()  # claims some condition compares with a literal value
    bindings: dict[tuple[str, str], frozenset[str]] | None = found
    condition_claims: set[str] | None = mentioned
    try:
        for rule in policy.rules:
            rule_routes = [_route_of(r) for r in getattr(rule, "routes", ())]
            for part in (getattr(rule, "when", None), getattr(rule, "unless", None)):
                for claim, spec in _condition_claims(part).items():
                    mentioned.add(claim)
                    for value in _spec_values(spec):
                        name = _template_name(value)
                        if name is None:
                            if value != "*":  # presence holds for any non-empty value
                                compared.add(claim)
                            continue
                        templated.add(claim)
                        for parsed in rule_routes:
                            if parsed is None:
                                continue
                            key = (parsed[2], name)
                            found[key] = found.get(key, frozenset()) | {claim}
    except (AttributeError, TypeError):  # pragma: no cover - an engine that does not expose rules
        bindings = None
        condition_claims = None
    literals = frozenset({text for r in routes for kind, text in r.tokens if kind == _LIT} | set(websocket))
    symbolic = templated - compared - {"cognito:groups", "scope"}
    if bindings is None or any(_placeholder(i) in literals for i in range(len(symbolic))):
        symbolic = set()
    return _PolicyModel(
        routes=tuple(routes),
        websocket_keys=tuple(dict.fromkeys(websocket)),
        explicit_verbs=explicit,
        bindings=bindings,
        condition_claims=frozenset(condition_claims) if condition_claims is not None else None,
        symbolic_claims=frozenset(symbolic),
        literals=literals,
        by_text={r.text: r for r in routes},
        condition_order=tuple(sorted(condition_claims or ())),
        symbolic_order=tuple(sorted(symbolic)),
    )


_MODELS: dict[int, tuple[PolicyLike, _PolicyModel]] = {}
_MODELS_LOCK = Lock()


def _model(policy: PolicyLike) -> _PolicyModel:
    key = id(policy)
    with _MODELS_LOCK:
        hit = _MODELS.get(key)
        if hit is not None and hit[0] is policy:
            return hit[1]
    model = _build_model(policy)
    with _MODELS_LOCK:
        if len(_MODELS) >= 64:
            _MODELS.pop(next(iter(_MODELS)))
        # The entry keeps the policy alive, so its id cannot be reused while the entry exists.
        _MODELS[key] = (policy, model)
    return model


# --- what applies to one principal --------------------------------------------------------------------


def _claim_texts(principal: Principal, claim: str) -> list[str]:
    """The strings a claim compares equal to, as the engine compares them (ints by decimal form,
    booleans as ``"true"``/``"false"``, list claims item by item)."""
    if claim == "cognito:groups":
        items: Iterable[Any] = principal.groups
    elif claim == "scope":
        items = principal.scopes
    else:
        value = principal.claims.get(claim) if isinstance(principal.claims, Mapping) else None
        if value is None:
            return []
        items = value if isinstance(value, list | tuple) else (value,)
    texts: list[str] = []
    for item in items:
        if isinstance(item, bool):
            texts.append("true" if item else "false")
        elif isinstance(item, int):
            texts.append(str(item))
        elif isinstance(item, str):
            texts.append(item)
    return list(dict.fromkeys(texts))


class _Unexpressible(Exception):
    def __init__(self, code: str, detail: str, rules: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.rules = rules


@dataclass(frozen=True, slots=True)
class _Grant:
    """One statement that can fire for the principal, as the engine enumerates it: a route, the
    parameters its conditions bind to claim values, and the bindings its ``unless`` exempts."""

    route: _Route
    bound: Mapping[str, str]
    exceptions: tuple[Mapping[str, str], ...]
    deny: bool


def _live_grants(policy: PolicyLike, model: _PolicyModel, principal: Principal) -> list[_Grant] | None:
    """The statements that can fire for ``principal``, as ``policy.allowed_routes`` enumerates them, or
    ``None`` when the engine cannot enumerate them exactly.

    Only the candidate patterns are shaped after them (a guess at the document: a wrong one costs a
    fallback, never soundness). The classes of requests, ``decide`` on each and the self-check never
    depend on this list: every route of the policy takes part in them.
    """
    enumerate_grants = getattr(policy, "allowed_routes", None)
    if model.bindings is None or not callable(enumerate_grants):
        return None
    try:
        granted = enumerate_grants(principal)
        if getattr(granted, "exact", None) is not True:
            return None
        out: list[_Grant] = []
        for deny, grants in ((False, granted.allowed), (True, granted.denied)):
            for grant in grants:
                if grant.method is None:
                    continue  # WebSocket keys: not part of an HTTP document
                route = model.by_text.get(grant.route)
                if route is None:
                    return None  # a route this module could not parse: analyse every route
                exceptions = tuple(dict(e) for e in grant.except_params)
                out.append(_Grant(route, dict(grant.bound_params), exceptions, deny))
    except (AttributeError, TypeError):  # pragma: no cover - an engine without this enumeration
        return None
    return out


@dataclass
class _ClaimValues:
    symbols: frozenset[str]  # every claim segment a request segment may equal
    per_param: dict[tuple[str, str], list[tuple[str, ...]]]  # (route text, param) -> values as segments


def _principal_claims(model: _PolicyModel, principal: Principal) -> _ClaimValues:
    """The claim values each route parameter is compared with (by some condition's template), as path
    segments; every parameter with every claim when the rules cannot be read."""
    per_param: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    symbols: set[str] = set()
    routes = model.routes
    if model.bindings is None:
        claim_names: Iterable[str] = principal.claims.keys() if isinstance(principal.claims, Mapping) else ()
        bound = {(r.text, name): frozenset(claim_names) for r in routes for kind, name in r.tokens if kind}
    else:
        bound = model.bindings
    greedy_params = {(r.text, r.tokens[-1][1]) for r in routes if r.tokens and r.tokens[-1][0] == _GREEDY}
    for key, claims in bound.items():
        greedy = key in greedy_params
        values: list[tuple[str, ...]] = []
        for claim in sorted(claims):
            for text in _claim_texts(principal, claim):
                parts = tuple(text.split("/")) if greedy else (text,)
                if not all(_segment_ok(part) for part in parts):
                    continue  # no request can ever carry this value in this parameter
                if not all(_glob_safe(part) for part in parts):
                    raise _Unexpressible(
                        "unexpressible_claim_value",
                        f"claim {claim!r} has a value with '*', '?' or '%' that no Resource can name exactly",
                    )
                values.append(parts)
                symbols.update(parts)
        per_param[key] = list(dict.fromkeys(values))
    return _ClaimValues(frozenset(symbols), per_param)


class _Budget:
    """Work allowed for one proof, counted deterministically (so equal principals get equal verdicts):
    candidate patterns built, automaton states interned and steps taken (by the threads they visit),
    product transitions, ``decide`` calls, the solver's pairs. Running out means a request-scoped
    document, never a slow authorizer."""

    __slots__ = ("left",)

    def __init__(self, units: int) -> None:
        self.left = units

    def spend(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise _Unexpressible(
                "analysis_budget", "the policy's route structure is too large to prove a document"
            )


# --- candidate patterns -------------------------------------------------------------------------------


def _verb_classes(
    routes: Sequence[_Route], pool: Sequence[PatternTokens]
) -> list[tuple[str, frozenset[str]]]:
    """(representative verb, class) pairs: verbs no route method and no pattern verb set tells apart."""
    verb_sets = list(dict.fromkeys(t[0] for t in pool if isinstance(t[0], frozenset)))
    methods = sorted({r.method for r in routes})
    by_signature: dict[tuple[bool, ...], list[str]] = {}
    for verb in HTTP_VERBS:
        signature = (*(verb in s for s in verb_sets), *(m == verb for m in methods))
        by_signature.setdefault(signature, []).append(verb)
    return [(verbs[0], frozenset(verbs)) for verbs in by_signature.values()]


def _add_global(add: Any, routes: Sequence[_Route]) -> None:
    """Patterns for everything, the root, and everything under each verb a route names."""
    add((STAR, STAR))
    add((STAR, ""))
    add((_ALL_VERBS, STAR))
    for verb in HTTP_VERBS:
        if any(r.method == verb for r in routes):
            add((frozenset({verb}), STAR))
            add((frozenset({verb}), ""))


def _add_shapes(add: Any, verb_token: Token, path: tuple[Token, ...], cuts: bool) -> None:
    """A route-shaped pattern and the patterns that carve around it."""
    if not path:
        add((verb_token, ""))
        return
    base = (verb_token, *path)
    add(base)
    add((*base, STAR))  # everything deeper than the route
    if cuts:
        for cut in range(1, len(path)):
            add((verb_token, *path[:cut], STAR))
    for index, token in enumerate(path):
        if token is STAR:
            # A wider span at this wildcard: carves off paths deeper than the route.
            add((verb_token, *path[: index + 1], STAR, *path[index + 1 :]))


def _verb_token(route: _Route) -> Token:
    # A '*' verb would span into the path ("*/orders/*" also matches ".../x/orders/1"), so an ANY route
    # lists its verbs; only the global patterns use a '*' verb.
    return _ALL_VERBS if route.method == "ANY" else frozenset({route.method})


def _grant_pool(grants: Sequence[_Grant], routes: Sequence[_Route], budget: _Budget) -> list[PatternTokens]:
    """A small pool: each statement that can fire as IAM names it (claim-bound parameters as the
    principal's values, free ones as ``*``), the same with each ``unless`` exemption bound, and the
    patterns that carve around those."""
    pool: dict[PatternTokens, None] = {}
    add = pool.setdefault
    _add_global(add, routes)
    for grant in grants:
        route = grant.route
        for binding in (grant.bound, *({**grant.bound, **e} for e in grant.exceptions)):
            path: list[Token] = []
            for kind, text in route.tokens:
                if kind == _LIT:
                    path.append(text if _glob_safe(text) else STAR)
                    continue
                value = binding.get(text)
                if value is None:
                    path.append(STAR)
                    continue
                parts = value.split("/") if kind == _GREEDY else [value]
                if not all(_segment_ok(part) and _glob_safe(part) for part in parts):
                    break  # no request carries it (or it was refused with the claim values already)
                path.extend(parts)
            else:
                budget.spend(2 * len(path) + 1)
                _add_shapes(add, _verb_token(route), tuple(path), cuts=not grant.deny)
    return list(pool)


def _candidate_pool(routes: Sequence[_Route], claims: _ClaimValues, budget: _Budget) -> list[PatternTokens]:
    """The full pool: every route with each parameter as ``*`` or as each claim value compared with it."""
    pool: dict[PatternTokens, None] = {}
    add = pool.setdefault
    _add_global(add, routes)
    for route in routes:
        options: list[list[tuple[Token, ...]]] = []
        for kind, text in route.tokens:
            if kind == _LIT:
                options.append([(text,) if _glob_safe(text) else (STAR,)])
            else:
                values = claims.per_param.get((route.text, text), [])
                options.append([(STAR,), *values])
        combos = list(product(*options)) if options else [()]
        if len(combos) > _COMBO_BUDGET:
            # Keep the all-wildcard form and each single binding; the solver proves what it needs.
            base = [opts[0] for opts in options]
            combos = [tuple(base)]
            for index, opts in enumerate(options):
                for value in opts[1:]:
                    combos.append((*base[:index], value, *base[index + 1 :]))
        for combo in combos:
            budget.spend(2 * len(combo) + 1)
            _add_shapes(add, _verb_token(route), tuple(token for part in combo for token in part), cuts=True)
    return list(pool)


def _step_pattern(tokens: PatternTokens, states: Iterable[int], symbol: str) -> set[int]:
    # NFA over tokens: state 2p = before token p, 2p+1 = inside the '*' at p after >= 1 symbol.
    out: set[int] = set()
    for state in states:
        position, inside = divmod(state, 2)
        if inside:
            out.add(state)
            continue
        if position >= len(tokens):
            continue
        token = tokens[position]
        if token is STAR:
            out.add(2 * position + 1)
        elif isinstance(token, frozenset):
            if symbol in token:
                out.add(2 * position + 2)
        elif token == symbol:
            out.add(2 * position + 2)
    # epsilon: leaving a '*' that has consumed at least one symbol
    out.update(state + 1 for state in list(out) if state % 2)
    return out


_OTHER = "\x00other"  # stands for every symbol that equals no literal an automaton tests
_END = "\x00end"  # needed by a state that no further symbol keeps alive (no request segment equals it)
_DEAD = -1


class _Glob:
    """One candidate pattern as a lazily determinized automaton: a state is an interned set of NFA
    states, a transition depends on the symbol only through equality with the pattern's literals."""

    __slots__ = ("_ids", "_next", "accept", "budget", "expects", "literals", "needs", "sets", "tokens")

    def __init__(self, tokens: PatternTokens, budget: _Budget) -> None:
        self.tokens = tokens
        self.budget = budget
        self.literals = frozenset(t for t in tokens[1:] if isinstance(t, str))
        self._ids: dict[frozenset[int], int] = {}
        self._next: dict[tuple[int, str], int] = {}
        self.sets: list[frozenset[int]] = []
        self.accept: list[bool] = []
        self.expects: list[frozenset[str]] = []
        # Per state: the one symbol that keeps it alive (a single position before a literal), _END when
        # no symbol does (only the end reached), None when it must be stepped to know.
        self.needs: list[str | None] = []
        self._intern(frozenset({0}))

    def _intern(self, states: frozenset[int]) -> int:
        found = self._ids.get(states)
        if found is not None:
            return found
        index = self._ids[states] = len(self.sets)
        self.budget.spend(len(states) + 1)
        self.sets.append(states)
        tokens = self.tokens
        self.accept.append(2 * len(tokens) in states)
        expects = set()
        for state in states:
            position, inside = divmod(state, 2)
            if not inside and 0 < position < len(tokens):
                token = tokens[position]
                if isinstance(token, str) and token:
                    expects.add(token)
        self.expects.append(frozenset(expects))
        need = None
        if len(states) == 1:
            position, inside = divmod(next(iter(states)), 2)
            if not inside and position == len(tokens):
                need = _END
            elif not inside and position and isinstance(tokens[position], str):
                need = tokens[position]
        self.needs.append(need)
        return index

    def step(self, state: int, symbol: str) -> int:
        key = (state, symbol if state == 0 or symbol in self.literals else _OTHER)
        found = self._next.get(key)
        if found is not None:
            return found
        self.budget.spend(2)
        out = _step_pattern(self.tokens, self.sets[state], symbol)
        found = self._next[key] = self._intern(frozenset(out)) if out else _DEAD
        return found


class _PatternAutomaton:
    """All candidate patterns run side by side, determinized lazily: a state is an interned id of the
    live patterns' own states (in pattern order). A step only visits the patterns the symbol can keep
    alive: those waiting for exactly that literal and those that must be stepped to know."""

    def __init__(self, pool: list[PatternTokens], budget: _Budget) -> None:
        self.pool = pool
        self.budget = budget
        self.globs = [_Glob(tokens, budget) for tokens in pool]
        self.literals = frozenset().union(*(g.literals for g in self.globs))
        self._ids: dict[tuple[tuple[int, int], ...], int] = {}
        self.accepts: list[frozenset[int]] = []
        self.expects: list[frozenset[str]] = []
        self._waiting: list[dict[str, list[tuple[int, int]]]] = []
        self._stepped: list[list[tuple[int, int]]] = []
        self._next: dict[tuple[int, str], int] = {}
        self.start = self._intern(tuple((i, 0) for i in range(len(pool))))

    def _intern(self, states: tuple[tuple[int, int], ...]) -> int:
        found = self._ids.get(states)
        if found is not None:
            return found
        index = self._ids[states] = len(self._stepped)
        self.budget.spend(len(states) + 1)
        globs = self.globs
        self.accepts.append(frozenset(i for i, s in states if globs[i].accept[s]))
        self.expects.append(frozenset().union(*(globs[i].expects[s] for i, s in states)))
        waiting: dict[str, list[tuple[int, int]]] = {}
        stepped: list[tuple[int, int]] = []
        for i, s in states:
            need = globs[i].needs[s]
            if need is None:
                stepped.append((i, s))
            elif need is not _END:
                waiting.setdefault(need, []).append((i, s))
        self._waiting.append(waiting)
        self._stepped.append(stepped)
        return index

    def step(self, state: int, symbol: str) -> int:
        key = (state, symbol if symbol in self.literals or state == self.start else _OTHER)
        found = self._next.get(key)
        if found is not None:
            return found
        current = [*self._stepped[state], *self._waiting[state].get(symbol, ())]
        # Mostly cached steps of the single patterns: a quarter unit each (their misses count below).
        self.budget.spend(len(current) // 4 + 1)
        globs = self.globs
        out = []
        for i, s in current:
            t = globs[i].step(s, symbol)
            if t != _DEAD:
                out.append((i, t))
        out.sort()
        found = self._next[key] = self._intern(tuple(out))
        return found


_Thread = tuple[int, int, tuple[Any, ...], bool]  # route index, position, bindings, greedy started


class _RouteAutomaton:
    """The routes matched side by side, determinized lazily. A state knows which routes are complete and,
    for each parameter some condition compares with claims, which of those claim values it equals (or
    none): everything ``decide`` depends on.
    """

    def __init__(self, routes: Sequence[_Route], claims: _ClaimValues, budget: _Budget) -> None:
        self.routes = tuple(routes)
        self.budget = budget
        # Per route and token: the claim segments a parameter there is compared with (empty: none, so
        # the parameter's value never matters), and for a greedy tail how many segments to remember.
        self.watch: list[tuple[frozenset[str], ...]] = []
        self.caps: list[int] = []
        for route in self.routes:
            watch = []
            cap = 0
            for kind, text in route.tokens:
                values = claims.per_param.get((route.text, text), []) if kind != _LIT else []
                watch.append(frozenset(part for value in values for part in value))
                if kind == _GREEDY and values:
                    cap = max(len(value) for value in values) + 1
            self.watch.append(tuple(watch))
            self.caps.append(cap)
        self.literals = frozenset(text for r in self.routes for kind, text in r.tokens if kind == _LIT)
        self.symbols = self.literals.union(*(w for ws in self.watch for w in ws))
        self._ids: dict[frozenset[_Thread], int] = {}
        self._sets: list[frozenset[_Thread]] = []
        self.complete: list[frozenset[Any]] = []
        self.expects: list[frozenset[str]] = []
        # Per state: threads waiting for one literal, by that literal; threads any symbol advances.
        self._waiting: list[dict[str, list[_Thread]]] = []
        self._stepped: list[list[_Thread]] = []
        self._next: dict[tuple[int, str], int] = {}

    def intern(self, threads: frozenset[_Thread]) -> int:
        found = self._ids.get(threads)
        if found is not None:
            return found
        index = self._ids[threads] = len(self._sets)
        self.budget.spend(len(threads) + 1)
        self._sets.append(threads)
        complete = []
        expects: set[str] = set()
        waiting: dict[str, list[_Thread]] = {}
        stepped: list[_Thread] = []
        for thread in threads:
            ri, pos, bound, started = thread
            tokens = self.routes[ri].tokens
            if started or (pos == len(tokens) and not (tokens and tokens[-1][0] == _GREEDY)):
                complete.append((ri, bound))
            if started:
                expects.update(self.watch[ri][pos])
                stepped.append(thread)
            elif pos < len(tokens):
                kind, text = tokens[pos]
                if kind == _LIT:
                    expects.add(text)
                    waiting.setdefault(text, []).append(thread)
                else:
                    expects.update(self.watch[ri][pos])
                    stepped.append(thread)
        self.complete.append(frozenset(complete))
        self.expects.append(frozenset(expects))
        self._waiting.append(waiting)
        self._stepped.append(stepped)
        return index

    def step(self, state: int, symbol: str) -> int:
        key = (state, symbol if symbol in self.symbols else _OTHER)
        found = self._next.get(key)
        if found is not None:
            return found
        waiting = self._waiting[state].get(symbol, ())
        current = self._stepped[state]
        self.budget.spend(len(current) + len(waiting) + 1)
        out: set[_Thread] = {(ri, pos + 1, bound, False) for ri, pos, bound, _started in waiting}
        for thread in current:
            ri, pos, bound, started = thread
            if started:  # inside a greedy parameter: it takes every further segment
                watch = self.watch[ri][pos]
                if watch and len(bound[-1]) < self.caps[ri]:
                    thread = (ri, pos, (*bound[:-1], (*bound[-1], symbol if symbol in watch else "")), True)
                out.add(thread)
                continue
            kind, _text = self.routes[ri].tokens[pos]
            watch = self.watch[ri][pos]
            info = symbol if symbol in watch else ""
            if kind == _PARAM:
                out.add((ri, pos + 1, (*bound, info) if watch else bound, False))
            else:
                out.add((ri, pos, (*bound, (info,)) if watch else bound, True))
        found = self._next[key] = self.intern(frozenset(out))
        return found


@dataclass
class _Class:
    allowed: bool
    matches: frozenset[int]
    verb: str
    path: str
    rules: tuple[str, ...]


def _explore(
    policy: PolicyLike,
    principal: Principal,
    routes: Sequence[_Route],
    pool: list[PatternTokens],
    claims: _ClaimValues,
    budget: _Budget,
) -> list[_Class]:
    patterns = _PatternAutomaton(pool, budget)
    automaton = _RouteAutomaton(routes, claims, budget)
    taken = automaton.symbols | patterns.literals
    fresh = "x0"
    while fresh in taken:
        fresh += "0"
    decided: dict[frozenset[Any], tuple[bool, tuple[str, ...]]] = {}
    classes: dict[tuple[bool, frozenset[int]], _Class] = {}

    def record(verb: str, segments: tuple[str, ...], rstate: int, pstate: int) -> None:
        complete = automaton.complete[rstate]
        hit = decided.get(complete)
        if hit is None:
            if complete:
                budget.spend(_DECIDE_COST)
                decision = policy.decide(principal, verb, "/" + "/".join(segments))
                hit = (bool(decision.allowed), tuple(getattr(decision, "rules", ()) or ()))
            else:
                hit = (False, ())  # no route matches: no rule can allow it
            decided[complete] = hit
        key = (hit[0], patterns.accepts[pstate])
        if key not in classes:
            classes[key] = _Class(hit[0], key[1], verb, "/" + "/".join(segments), hit[1])

    seen: set[tuple[int, int]] = set()
    for verb, _members in _verb_classes(routes, pool):
        rstart = automaton.intern(
            frozenset(
                (ri, 0, (), False) for ri, r in enumerate(automaton.routes) if r.method in ("ANY", verb)
            )
        )
        pstart = patterns.step(patterns.start, verb)
        # The root resource ".../VERB/" is the word [verb, ""]: only empty-path routes match it.
        root = automaton.intern(
            frozenset(t for t in automaton._sets[rstart] if not automaton.routes[t[0]].tokens)
        )
        record(verb, (), root, patterns.step(pstart, ""))
        stack: list[tuple[tuple[str, ...], int, int]] = [((), rstart, pstart)]
        while stack:
            segments, rstate, pstate = stack.pop()
            symbols = {fresh} | automaton.expects[rstate] | patterns.expects[pstate]
            budget.spend(len(symbols))
            for symbol in sorted(symbols):  # sorted: representatives must not depend on hash order
                path = (*segments, symbol)
                next_r = automaton.step(rstate, symbol)
                next_p = patterns.step(pstate, symbol)
                record(verb, path, next_r, next_p)
                key = (next_r, next_p)
                if key in seen:
                    continue
                seen.add(key)
                budget.spend(1)
                stack.append((path, next_r, next_p))
    return list(classes.values())


# --- choosing patterns --------------------------------------------------------------------------------


def _pattern_resources(method_arn: MethodArn, tokens: PatternTokens) -> list[str]:
    path = "/" + "/".join("*" if t is STAR else t for t in tokens[1:])
    head = tokens[0]
    if head is STAR:
        return [method_arn.prefix + "*" + path]
    return [method_arn.with_resource(verb, path) for verb in HTTP_VERBS if verb in head]


def _cost(method_arn: MethodArn, tokens: PatternTokens) -> int:
    return sum(len(r) + 3 for r in _pattern_resources(method_arn, tokens))


def _greedy_cover(
    targets: set[int], candidates: list[int], covers: dict[int, set[int]], cost: dict[int, int]
) -> list[int] | None:
    chosen: list[int] = []
    remaining = set(targets)
    while remaining:
        best = None
        best_score = 0.0
        for c in candidates:
            gain = len(covers[c] & remaining)
            if gain:
                score = gain / cost[c]
                if score > best_score or (score == best_score and best is not None and cost[c] < cost[best]):
                    best, best_score = c, score
        if best is None:
            return None
        chosen.append(best)
        remaining -= covers[best]
    return chosen


def _solve(
    classes: list[_Class], pool: list[PatternTokens], method_arn: MethodArn, budget: _Budget
) -> tuple[list[PatternTokens], list[PatternTokens]]:
    budget.spend(len(classes) * len(pool) // _SOLVE_UNIT)
    allowed = [c for c in classes if c.allowed]
    denied = [c for c in classes if not c.allowed]
    on_allowed: set[int] = set().union(*(c.matches for c in allowed)) if allowed else set()
    safe_deny = [i for i in range(len(pool)) if i not in on_allowed]
    safe_deny_set = set(safe_deny)
    acceptable = [
        i for i in range(len(pool)) if all(c.matches & safe_deny_set for c in denied if i in c.matches)
    ]
    acceptable_set = set(acceptable)
    # Sorted so the example and the rule list a lint reader sees do not depend on hash order.
    uncovered = sorted(
        (c for c in allowed if not (c.matches & acceptable_set)), key=lambda c: (c.path, c.verb, c.rules)
    )
    if uncovered:
        # Name the rules that deny what an Allow glob would have to carry along.
        blockers: list[str] = []
        for c in uncovered[:4]:
            for d in denied:
                if c.matches & d.matches:
                    blockers.extend(d.rules)
        rules = tuple(dict.fromkeys([*blockers, *(r for c in uncovered[:4] for r in c.rules)]))
        example = uncovered[0]
        raise _Unexpressible(
            "inexpressible",
            f"{example.verb} {example.path} is allowed but every IAM glob that covers it also covers a "
            "denied request that no Deny can carve out without denying an allowed one",
            rules,
        )
    cost = {i: _cost(method_arn, pool[i]) for i in range(len(pool))}
    allowed_ids = set(range(len(allowed)))
    covers = {i: {k for k, c in enumerate(allowed) if i in c.matches} for i in acceptable}
    chosen_allow = _greedy_cover(allowed_ids, acceptable, covers, cost) or []
    chosen_set = set(chosen_allow)
    reached = {k for k, c in enumerate(denied) if c.matches & chosen_set}
    deny_covers = {i: {k for k in reached if i in denied[k].matches} for i in safe_deny}
    chosen_deny = _greedy_cover(reached, safe_deny, deny_covers, cost) or []
    return [pool[i] for i in chosen_allow], [pool[i] for i in chosen_deny]


# --- public API ---------------------------------------------------------------------------------------


def request_policy(policy: PolicyLike, principal: Principal, method_arn: MethodArn) -> dict[str, Any]:
    """A document for the current ARN only: Allow it if ``decide`` allows, else Deny it."""
    decision = policy.decide(principal, method_arn.verb or "GET", method_arn.path)
    statement = Statement("Allow" if bool(decision.allowed) else "Deny", (method_arn.arn,))
    return policy_document([statement])


def _request_result(
    policy: PolicyLike,
    principal: Principal,
    method_arn: MethodArn,
    reason: str,
    detail: str,
    rules: tuple[str, ...] = (),
) -> PolicyResult:
    document = request_policy(policy, principal, method_arn)
    return PolicyResult(document, "request", reason, document_size(document), detail, rules)


def _websocket_document(policy: PolicyLike, principal: Principal, model: _PolicyModel, arn: MethodArn) -> Any:
    keys = list(dict.fromkeys([*model.websocket_keys, arn.path]))
    allowed = [k for k in keys if _glob_safe(k) and bool(policy.decide(principal, "GET", k).allowed)]
    denied = [k for k in keys if k not in allowed]
    statements = []
    if allowed:
        statements.append(Statement("Allow", tuple(arn.with_resource(None, k) for k in allowed)))
    if denied:
        statements.append(Statement("Deny", tuple(arn.with_resource(None, k) for k in denied)))
    return policy_document(statements)


def build_principal_policy(
    policy: PolicyLike,
    principal: Principal,
    method_arn: MethodArn,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> PolicyResult:
    """The document to return for ``principal``: principal-wide when exactly expressible, else for
    ``method_arn`` only (``scope="request"`` with a reason; see :class:`PolicyResult`).

    A principal-wide document never allows a well-formed request that ``policy.decide`` denies and never
    denies one it allows; it names this API and stage only (from ``method_arn``).
    """
    model = _model(policy)
    if method_arn.verb is None:
        document = _websocket_document(policy, principal, model, method_arn)
        return PolicyResult(document, "principal", "", document_size(document))
    renaming = _renaming(model, principal)
    key = _memo_key(policy, model, principal, method_arn, max_bytes, renaming)
    if key is not None:
        hit = _memo_get(key, policy)
        if hit is not None:
            cached, template = hit
            if cached.scope == "request":
                # Only the verdict is reused: a request-scoped document names the current ARN.
                return _request_result(
                    policy, principal, method_arn, cached.reason, cached.detail, cached.rules
                )
            if template is None:
                return _copied(cached)
            rendered = _render(template, renaming or {}, max_bytes)
            if rendered is not None:
                return rendered
            # This principal's longer values break a size limit; the exact build says how.
            return _build(policy, principal, method_arn, model, max_bytes)
    # Every verdict is memoized, analysis_budget included: the analysis is deterministic for equal keys,
    # and redoing a proof that ran out of budget would cost each such request its budget again.
    if renaming is None:
        result = _build(policy, principal, method_arn, model, max_bytes)
        if key is not None:
            _memo_put(key, policy, result, None)
            result = _copied(result)
        return result
    # Prove the document once for the placeholder twin; every equivalent principal reuses it renamed.
    result = _build(policy, _twin(principal, model, renaming), method_arn, model, max_bytes)
    if result.scope == "request" and result.reason in ("too_large", "resource_too_long"):
        return _build(policy, principal, method_arn, model, max_bytes)  # lengths are not shared
    if result.scope == "request":
        _memo_put(key, policy, result, None)
        return _request_result(policy, principal, method_arn, result.reason, result.detail, result.rules)
    template = _compile_template(result, method_arn.prefix, renaming)
    _memo_put(key, policy, result, template)
    rendered = _render(template, renaming, max_bytes)
    return rendered if rendered is not None else _build(policy, principal, method_arn, model, max_bytes)


def _copied(result: PolicyResult) -> PolicyResult:
    # Callers own the document they get (an adapter may add to it); the memo keeps its own.
    document = {
        "Version": result.document["Version"],
        "Statement": [{**s, "Resource": list(s["Resource"])} for s in result.document["Statement"]],
    }
    return PolicyResult(document, result.scope, result.reason, result.size, result.detail, result.rules)


def _prove(
    policy: PolicyLike, principal: Principal, model: _PolicyModel, method_arn: MethodArn
) -> tuple[list[_Class], list[PatternTokens], list[PatternTokens]]:
    """Classes of requests and the Allow and Deny patterns chosen over them.

    Every attempt explores all the policy's routes; only the candidate pool grows from one to the next:
    the allow statements that can fire for the principal (with their carve-outs), then the deny
    statements too, then the full pool of every route with every claim value. The first that covers
    every allowed class wins. All share one work budget; running out of it after an attempt has already
    found an allowed class no candidate covers keeps that verdict (``inexpressible``).
    """
    budget = _Budget(_WORK_BUDGET)
    grants = _live_grants(policy, model, principal)
    budget.spend(len(grants or ()))
    routes = model.routes
    claims = _principal_claims(model, principal)
    first: _Unexpressible | None = None
    attempts: list[list[_Grant]] = []
    if grants is not None:
        # Allow statements alone first (their carve-outs included): most principals need no more.
        allows = [g for g in grants if not g.deny]
        attempts = [allows, grants] if len(allows) < len(grants) else [grants]
    for attempt in (*attempts, None):  # None: the full pool
        try:
            if attempt is None:
                pool = _candidate_pool(routes, claims, budget)
            else:
                pool = _grant_pool(attempt, routes, budget)
            classes = _explore(policy, principal, routes, pool, claims, budget)
            allow, deny = _solve(classes, pool, method_arn, budget)
        except _Unexpressible as exc:
            if exc.code != "analysis_budget":
                first = first or exc
                continue
            if first is not None:
                raise first from exc
            raise
        return classes, allow, deny
    if first is None:  # pragma: no cover - the loop returns or raises
        raise AssertionError("no proof attempt ran")
    raise first


def _build(
    policy: PolicyLike,
    principal: Principal,
    method_arn: MethodArn,
    model: _PolicyModel,
    max_bytes: int,
    *,
    quiet: bool = False,
) -> PolicyResult:
    try:
        classes, allow, deny = _prove(policy, principal, model, method_arn)
    except _Unexpressible as exc:
        if exc.code == "analysis_budget" and not quiet:
            logger.warning(
                "principal-wide IAM document for sub=%s: the proof ran out of its work budget; returning a "
                "request-scoped policy (with authorizer caching on, cache per route)",
                principal.sub,
            )
        return _request_result(policy, principal, method_arn, exc.code, exc.detail, exc.rules)
    allow_resources = [r for tokens in allow for r in _pattern_resources(method_arn, tokens)]
    deny_resources = [r for tokens in deny for r in _pattern_resources(method_arn, tokens)]
    if deny_resources:
        # IAM matches raw text and decide decoded segments: "/%74enants/x/y" must not slip past a Deny
        # on "tenants/*/*". Fail closed on every percent-escaped path under a carve-out document.
        deny_resources.append(method_arn.prefix + "*%*")
    statements = []
    if allow_resources:
        statements.append(Statement("Allow", tuple(dict.fromkeys(allow_resources))))
    if deny_resources:
        statements.append(Statement("Deny", tuple(dict.fromkeys(deny_resources))))
    if not statements:
        statements.append(Statement("Deny", (method_arn.prefix + "*",)))
    document = policy_document(statements)
    longest = max(len(r) for s in statements for r in s.resources)
    if longest > MAX_RESOURCE_LENGTH:
        return _request_result(
            policy,
            principal,
            method_arn,
            "resource_too_long",
            f"a Resource would be {longest} characters; API Gateway accepts at most {MAX_RESOURCE_LENGTH}",
        )
    size = document_size(document)
    if size > max_bytes:
        logger.warning(
            "principal-wide IAM document is %d bytes (max_bytes=%d); returning a request-scoped policy. "
            "With authorizer caching on, cache per route (identity sources with the method and path).",
            size,
            max_bytes,
        )
        return _request_result(
            policy,
            principal,
            method_arn,
            "too_large",
            f"the principal-wide document would be {size} bytes (max_bytes={max_bytes})",
        )
    wrong = _self_check(document, classes, method_arn)
    if wrong is not None:
        logger.error("IAM self-check disagrees with decide on %s %s; request scope", wrong.verb, wrong.path)
        return _request_result(
            policy,
            principal,
            method_arn,
            "self_check_failed",
            f"the generated document disagrees with decide on {wrong.verb} {wrong.path}",
        )
    return PolicyResult(document, "principal", "", size)


def _glob_regex(globs: Iterable[str]) -> re.Pattern[str] | None:
    """One regular expression that fully matches exactly the texts some IAM glob matches (``*`` any run
    of characters, ``/`` included; ``?`` one character; everything else itself); ``None`` for no globs."""
    parts = [".*".join(re.escape(text).replace("\\?", ".") for text in glob.split("*")) for glob in globs]
    return re.compile("|".join(f"(?:{part})" for part in parts), re.DOTALL) if parts else None


def _plain_resource(resource: str) -> bool:
    # IAM matches the six ARN components one by one; a glob over the whole ARN agrees with that when the
    # first five carry no wildcard (or the Resource is "*").
    parts = resource.split(":", 5)
    return resource == "*" or (len(parts) == 6 and not any(ch in part for part in parts[:5] for ch in "*?"))


def _document_allows(document: Mapping[str, Any], prefix: str) -> Callable[[str], bool]:
    """How IAM answers ARNs under ``document``: the same answer as :func:`iam_allows`, from each effect's
    Resources compiled into one regular expression when the document is of the shape this module emits
    (``execute-api:Invoke`` Allow and Deny statements with Resource lists and nothing else, no wildcard
    before the resource part of an ARN), else from :func:`iam_allows` itself. When every Resource starts
    with ``prefix`` (the API and stage: no wildcard in it), only the rest of the ARN is compared, which
    makes the expression shorter to compile."""
    statements = document["Statement"]
    plain = isinstance(statements, list) and all(
        isinstance(s, Mapping)
        and s.keys() == {"Action", "Effect", "Resource"}
        and s["Action"] == "execute-api:Invoke"
        and s["Effect"] in ("Allow", "Deny")
        and isinstance(s["Resource"], list)
        and all(isinstance(r, str) and _plain_resource(r) for r in s["Resource"])
        for s in statements
    )
    if not plain:
        return lambda arn: iam_allows(document, arn)
    allow_globs = [r for s in statements if s["Effect"] == "Allow" for r in s["Resource"]]
    deny_globs = [r for s in statements if s["Effect"] == "Deny" for r in s["Resource"]]
    literal = "*" not in prefix and "?" not in prefix
    cut = len(prefix) if literal and all(r.startswith(prefix) for r in (*allow_globs, *deny_globs)) else 0
    allow = _glob_regex(r[cut:] for r in allow_globs)
    deny = _glob_regex(r[cut:] for r in deny_globs)

    def allows(arn: str) -> bool:
        if allow is None or (cut and not arn.startswith(prefix)):
            return False
        text = arn[cut:]
        return allow.fullmatch(text) is not None and (deny is None or deny.fullmatch(text) is None)

    return allows


def _self_check(document: dict[str, Any], classes: Sequence[_Class], method_arn: MethodArn) -> _Class | None:
    """The class whose representative request the emitted document answers unlike ``decide``, if any.

    Every class is checked. The document is evaluated by :func:`_document_allows`, which answers as
    :func:`iam_allows` does (a property test holds it to that) at a fraction of the cost on large
    documents: each class's answer is compared with ``decide``, never taken from the pattern automata.
    """
    allows = _document_allows(document, method_arn.prefix)
    for cls in classes:
        if allows(method_arn.with_resource(cls.verb, cls.path)) != cls.allowed:
            return cls
    return None


# --- memo: the same principal (as far as the policy can tell) gets the same document ------------------

_MEMO_SIZE = 512
_MEMO: OrderedDict[Any, tuple[PolicyLike, PolicyResult, _Template | None]] | None = None
_MEMO_LOCK = Lock()


def _memo_key(
    policy: PolicyLike,
    model: _PolicyModel,
    principal: Principal,
    method_arn: MethodArn,
    max_bytes: int,
    renaming: Mapping[str, str] | None = None,
) -> Any:
    if model.condition_claims is None:
        return None
    claims = principal.claims if isinstance(principal.claims, Mapping) else {}
    symbols = {value: placeholder for placeholder, value in (renaming or {}).items()}
    relevant = []
    for name in model.condition_order:
        value = claims.get(name)
        if renaming is not None and name in model.symbolic_claims and value in symbols:
            # Only which placeholder the value became (its equality with the others) is in the key.
            relevant.append((name, symbols[value], True))
        else:
            relevant.append((name, repr(value), False))
    return (
        id(policy),
        method_arn.prefix,
        max_bytes,
        tuple(principal.groups),
        tuple(principal.scopes),
        principal.token_use,
        principal.client_id,
        tuple(relevant),
    )


# --- renaming: one proof for every principal that differs only in template-bound claim values -----------
#
# Why it is sound: decide() and the product automaton depend on a request segment only through its
# equality with route literals and with the principal's template-bound claim values (claims that no
# condition compares with a literal), and an IAM glob of whole-segment tokens only through equality with
# its literal tokens. A bijection on segment strings that fixes every route literal therefore maps the
# classes, decisions and proof for principal P onto those for the renamed principal. We rename the
# values (plain text: no glob characters, '%', '/', dots-only or whitespace, none equal to a route
# literal) to placeholders that no value or literal can equal, prove once, and substitute back. Sizes are
# rechecked after substitution, since only lengths differ.

_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.@:+=,-]{1,256}")


def _placeholder(index: int) -> str:
    # '~' never occurs in a plain value, so a placeholder never equals one.
    return f"~{index}~"


def _renaming(model: _PolicyModel, principal: Principal) -> dict[str, str] | None:
    """placeholder -> value for the principal's template-bound claims, or None when exact keys are due."""
    if not model.symbolic_claims or not isinstance(principal.claims, Mapping):
        return None
    index: dict[str, str] = {}
    for name in model.symbolic_order:
        value = principal.claims.get(name)
        if value is None:
            continue  # absence is part of the key as it is
        if (
            type(value) is not str
            or _PLAIN_VALUE.fullmatch(value) is None
            or value in (".", "..")
            or value in model.literals
        ):
            return None
        if value not in index:
            index[value] = _placeholder(len(index))
    if not index:
        return None
    for name in model.condition_claims or ():
        # A claim kept as it is must not share a value with a renamed one: their equality would break.
        if name not in model.symbolic_claims and any(t in index for t in _claim_texts(principal, name)):
            return None
    return {placeholder: value for value, placeholder in index.items()}


def _twin(principal: Principal, model: _PolicyModel, renaming: Mapping[str, str]) -> Principal:
    """The principal with its renamed claim values replaced by their placeholders."""
    symbols = {value: placeholder for placeholder, value in renaming.items()}
    claims = dict(principal.claims)
    for name in model.symbolic_claims:
        value = claims.get(name)
        if type(value) is str and value in symbols:
            claims[name] = symbols[value]
    sub = claims.get("sub", principal.sub) if "sub" in model.symbolic_claims else principal.sub
    return replace(principal, sub=sub, claims=MappingProxyType(claims))


@dataclass(frozen=True, slots=True)
class _Template:
    """A placeholder document compiled for renaming. Per statement: the statement without its Resource
    list, that list as it stands, and the positions of Resources holding placeholders as
    ``(position, (text, placeholder, text, ...))``; how often each placeholder occurs gives the size."""

    version: str
    statements: tuple[tuple[dict[str, Any], tuple[str, ...], tuple[tuple[int, tuple[str, ...]], ...]], ...]
    size: int
    occurrences: dict[str, int]


def _compile_template(result: PolicyResult, prefix: str, renaming: Mapping[str, str]) -> _Template:
    occurrences = dict.fromkeys(renaming, 0)
    statements = []
    for statement in result.document["Statement"]:
        head = {name: value for name, value in statement.items() if name != "Resource"}
        resources = tuple(statement["Resource"])
        dynamic: list[tuple[int, tuple[str, ...]]] = []
        for position, resource in enumerate(resources):
            if not resource.startswith(prefix):
                continue
            # Whole segments only: a placeholder is a segment of its own, never part of a literal.
            pieces: list[str] = []
            text = prefix
            for index, part in enumerate(resource[len(prefix) :].split("/")):
                if index:
                    text += "/"
                if part in occurrences:
                    pieces += [text, part]
                    occurrences[part] += 1
                    text = ""
                else:
                    text += part
            if pieces:
                pieces.append(text)
                dynamic.append((position, tuple(pieces)))
        statements.append((head, resources, tuple(dynamic)))
    return _Template(result.document["Version"], tuple(statements), result.size, occurrences)


def _render(template: _Template, renaming: Mapping[str, str], max_bytes: int) -> PolicyResult | None:
    """The document with the principal's values in place of the placeholders; None when the real values
    make a Resource or the document too long (the caller then builds exactly)."""
    size = template.size
    for placeholder, count in template.occurrences.items():
        # Plain values need no JSON escaping, so each occurrence changes the size by the length difference.
        size += count * (len(renaming[placeholder]) - len(placeholder))
    if size > max_bytes:
        return None
    statements = []
    for head, resources, dynamic in template.statements:
        rendered = list(resources)
        for position, pieces in dynamic:
            resource = pieces[0]
            for index in range(1, len(pieces), 2):
                resource += renaming[pieces[index]] + pieces[index + 1]
            if len(resource) > MAX_RESOURCE_LENGTH:
                return None
            rendered[position] = resource
        statements.append({**head, "Resource": rendered})
    return PolicyResult({"Version": template.version, "Statement": statements}, "principal", "", size)


def _memo_get(key: Any, policy: PolicyLike) -> tuple[PolicyResult, _Template | None] | None:
    """The memoized result (the memo's own: callers copy or render it) and its template, if any."""
    with _MEMO_LOCK:
        if _MEMO is None:
            return None
        hit = _MEMO.get(key)
        # The entry holds its policy, so an equal id is the same policy only if it is that object.
        if hit is None or hit[0] is not policy:
            return None
        _MEMO.move_to_end(key)
    return hit[1], hit[2]


def _memo_put(key: Any, policy: PolicyLike, result: PolicyResult, template: _Template | None) -> None:
    global _MEMO
    from collections import OrderedDict

    with _MEMO_LOCK:
        if _MEMO is None:
            _MEMO = OrderedDict()
        _MEMO[key] = (policy, result, template)
        _MEMO.move_to_end(key)
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)


# --- cache safety of a whole policy (known at load) ---------------------------------------------------


def _templates(condition: Any) -> dict[str, str]:
    """param -> claim for every ``"{param}"`` template in a condition's claims."""
    out: dict[str, str] = {}
    for claim, spec in _condition_claims(condition).items():
        for value in _spec_values(spec):
            name = _template_name(value)
            if name is not None:
                out[name] = claim
    return out


def _overlap(a: _Route, b: _Route) -> bool:
    if a.method != b.method and "ANY" not in (a.method, b.method):
        return False
    for index in range(max(len(a.tokens), len(b.tokens))):
        if index >= len(a.tokens) or index >= len(b.tokens):
            return False
        (kind_a, text_a), (kind_b, text_b) = a.tokens[index], b.tokens[index]
        if _GREEDY in (kind_a, kind_b):
            return True
        if kind_a == _LIT and kind_b == _LIT and text_a != text_b:
            return False
    return True


def _as_route(value: Any) -> _Route | None:
    parsed = _route_of(value)
    if parsed is None or parsed[0] is None:
        return None
    tokens = _parse_template(parsed[1])
    return _Route(parsed[0], parsed[2], tokens) if tokens is not None else None


def _shape_findings(policy: PolicyLike) -> tuple[list[str], list[str]]:
    blocking: list[str] = []
    findings: list[str] = []
    rules = list(policy.rules)
    allow_rules = [r for r in rules if getattr(r, "effect", "allow") == "allow"]
    for rule in rules:
        rule_id = str(getattr(rule, "id", "?"))
        unless = _templates(getattr(rule, "unless", None))
        if not unless:
            continue
        if getattr(rule, "effect", "allow") == "allow":
            # "Allow every value except the caller's own" is expressible: Allow '*' and Deny the value.
            continue
        own_routes = [r for r in (_as_route(x) for x in getattr(rule, "routes", ())) if r is not None]
        for other in allow_rules:
            bound = _templates(getattr(other, "when", None))
            if all(bound.get(param) == claim for param, claim in unless.items()):
                continue  # the allow rule only ever grants the caller's own value: expressible
            other_routes = [r for r in (_as_route(x) for x in getattr(other, "routes", ())) if r is not None]
            if any(_overlap(a, b) for a in own_routes for b in other_routes):
                blocking.append(rule_id)
                findings.append(
                    f"deny rule {rule_id!r} spares only the caller's own {sorted(unless)}, but rule "
                    f"{getattr(other, 'id', '?')!r} allows other values on overlapping routes: IAM would "
                    "need 'any value except the caller's'"
                )
                break
    return blocking, findings


def _probe_principals(policy: PolicyLike) -> list[Principal]:
    template_claims: set[str] = set()
    for rule in policy.rules:
        for part in (getattr(rule, "when", None), getattr(rule, "unless", None)):
            template_claims.update(_templates(part).values())
    base_claims = {claim: f"probe{n}" for n, claim in enumerate(sorted(template_claims))}
    base_claims.setdefault("sub", "probe-sub")

    def principal_for(conditions: list[Any]) -> Principal:
        groups: list[str] = []
        scopes: list[str] = []
        token_use: str | None = None
        client_id: str | None = None
        claims: dict[str, Any] = dict(base_claims)
        for condition in conditions:
            if condition is None:
                continue
            groups.extend(
                [
                    *(getattr(condition, "groups", None) or ())[:1],
                    *(getattr(condition, "all_groups", None) or ()),
                ]
            )
            scopes.extend(
                [
                    *(getattr(condition, "scopes", None) or ())[:1],
                    *(getattr(condition, "all_scopes", None) or ()),
                ]
            )
            token_use = token_use or next(iter(getattr(condition, "token_use", None) or ()), None)
            client_id = client_id or next(iter(getattr(condition, "client_id", None) or ()), None)
            for claim, spec in _condition_claims(condition).items():
                first = _spec_values(spec)[0]
                if _template_name(first) is None:
                    claims[claim] = "present" if first == "*" else first
        return Principal(
            sub=str(claims.get("sub", "probe-sub")),
            groups=tuple(dict.fromkeys(g for g in groups if isinstance(g, str))),
            scopes=tuple(dict.fromkeys(s for s in scopes if isinstance(s, str))),
            token_use=token_use,
            client_id=client_id,
            claims=claims,
        )

    whens = [getattr(r, "when", None) for r in policy.rules if getattr(r, "effect", "allow") == "allow"]
    probes = [principal_for([w]) for w in whens]
    probes.append(principal_for(whens))
    return probes


_PROBE_ARN = MethodArn("aws", "us-east-1", "123456789012", "probe00000", "probe", "GET", "/")


def cache_safety(policy: PolicyLike, *, probes: bool = True) -> CacheSafety:
    """Whether every principal gets an exact principal-wide document, and if not which rules prevent it.

    Two checks: rule shapes that need negation (a deny rule whose ``unless`` spares only the caller's own
    claim value on routes another rule allows more widely: "any tenant except mine" has no IAM form), and
    probes: principals synthesized to satisfy each allow rule (and all of them at once), each run through
    :func:`build_principal_policy`. Probes cost milliseconds per allow rule; ``probes=False`` keeps only
    the shape check (for a cold start that must stay fast; documents stay proven per principal anyway).
    """
    blocking, findings = _shape_findings(policy)
    for probe in _probe_principals(policy) if probes else ():
        result = _build(policy, probe, _PROBE_ARN, _model(policy), max_bytes=1 << 30, quiet=True)
        if result.scope == "request" and result.reason in ("inexpressible", "self_check_failed"):
            blocking.extend(result.rules[:1] or ())
            findings.append(f"principal with groups {list(probe.groups)}: {result.detail}")
        elif result.scope == "request" and result.reason == "analysis_budget":
            findings.append(result.detail)
    blocking_rules = tuple(dict.fromkeys(blocking))
    safe = not blocking_rules and not findings
    return CacheSafety(safe, blocking_rules, SAFE_ADVICE if safe else ADVICE, tuple(dict.fromkeys(findings)))
