"""Principal-wide documents: choose globs quickly, have them checked, reuse proofs (speed part).

Nothing here is trusted for soundness. The candidate globs come from ``Policy.allowed_routes`` (what can
fire for the caller) and the API's table; :func:`_choose` picks Allows and carve-out Denies over the
classes of requests; the rendered result then goes through :func:`~cognito_authz.iam.check.check_document`
and only a document the check calls sound is ever returned. A wrong choice costs completeness (a request
``decide`` allows that the cached answer refuses), never soundness. The argument is in
``docs/architecture.md``, "Cached authorizer answers are exact".
"""

from __future__ import annotations

import gc
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache, partial
from threading import Lock
from typing import Any, Literal

from cognito_authz._frozen import Frozen, set_field
from cognito_authz._log import get_logger
from cognito_authz.iam.arn import MethodArn
from cognito_authz.iam.check import ESCAPED_PATHS, ODD_PATHS, check_document
from cognito_authz.iam.classes import Budget, BudgetExceeded, fresh_segment, walk_classes
from cognito_authz.iam.document import (
    Statement,
    document_matcher,
    document_size,
    iam_allows,
    policy_document,
)
from cognito_authz.iam.patterns import MANY, PLUS, Token, plain_segment, resource_of_glob
from cognito_authz.iam.renaming import (
    AnswerTemplate,
    Renaming,
    RenderPlan,
    plan_renaming,
    rename,
    render,
    swap_of,
)
from cognito_authz.iam.world import (
    VERBS,
    PolicyFacts,
    binding_count,
    decide_cost,
    policy_facts,
    request_patterns,
    value_segments,
)
from cognito_authz.policy import Policy
from cognito_authz.policy.routes import GREEDY, LITERAL, Route
from cognito_authz.principal import Principal
from cognito_authz.routing import request_segments

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_RESOURCE_LENGTH",
    "WORK_BUDGET",
    "PolicyResult",
    "build_principal_policy",
    "clear_memo",
    "request_policy",
]

logger = get_logger("cognito_authz.iam")

#: Default ceiling for a document (compact JSON bytes); API Gateway bounds the whole authorizer response.
DEFAULT_MAX_BYTES = 8192
#: API Gateway limits each ``Resource`` in an authorizer policy to 512 characters.
MAX_RESOURCE_LENGTH = 512
#: Work units for one proof (choice and check together): a hard cap on time and memory per invocation.
WORK_BUDGET = 25_000
# What each step of a proof is charged, in units of about a microsecond each on the machine the bench
# runs on (measured per site by attributing the time between charges to the earlier one; the scan in
# bench/iam_worst_tokens.py then checks the total per unit over the hostile token shapes and the
# examples). A charge is taken before its work is done, so running out stops the work, not the answer.
# Glob-over-path matches run by the choice per unit: a fullmatch of a (linear-time) glob regex.
_MATCHES_PER_UNIT = 4
# Per parameter binding Policy.allowed_routes enumerates (world.binding_count): about 20 us each.
_BINDING = 30
# Per byte of a rendered document: the check compiles its Resources into two evaluators (about 0.5 us
# a byte each, the parse of long alternations).
_UNITS_PER_BYTE = 1
# Choose-and-check rounds per proof (each failed check adds its counterexample to the next choice).
_ROUNDS = 4

Scope = Literal["principal", "request"]
Tokens = tuple[Token, ...]  # a glob's path tokens
Glob = tuple[str, Tokens]  # (verb, path tokens)


class PolicyResult(Frozen):
    """A document and how far it may be cached.

    ``scope="principal"``: checked sound for every routable request of this token, so safe to cache per
    token; ``exact`` says whether it also allows everything ``decide`` allows (if not, ``reason`` is
    ``inexact`` and ``rules`` names the rules it could not express; the current request is always
    answered as ``decide`` answers it). ``scope="request"``: it covers the current ARN only; ``reason``
    is ``analysis_budget``, ``self_check_failed``, ``too_large``, ``escaped_path``, ``not_routable`` or
    ``carve_out``.
    """

    __slots__ = ("detail", "document", "exact", "reason", "rules", "scope", "size")
    document: dict[str, Any]
    scope: Scope
    reason: str
    size: int
    detail: str
    rules: tuple[str, ...]
    exact: bool

    def __init__(
        self,
        document: dict[str, Any],
        scope: Scope,
        reason: str,
        size: int,
        detail: str = "",
        rules: tuple[str, ...] = (),
        exact: bool = False,
    ) -> None:
        set_field(self, "document", document)
        set_field(self, "scope", scope)
        set_field(self, "reason", reason)
        set_field(self, "size", size)
        set_field(self, "detail", detail)
        set_field(self, "rules", rules)
        set_field(self, "exact", exact)


# --- candidates -----------------------------------------------------------------------------------------


def _tokens(route: Route, binding: dict[str, str]) -> tuple[Token, ...] | None:
    """The route as glob tokens: bound parameters as their (plain) values, free ones and literals IAM
    cannot name as ``*``; ``None`` when a bound value cannot be named."""
    out: list[Token] = []
    for kind, text in route.pattern:
        value = binding.get(text) if kind != LITERAL else None
        if kind == LITERAL:
            out.append(text if plain_segment(text) else MANY)
        elif value is None:
            out.append(MANY)
        else:
            segments = value_segments(value, kind == GREEDY)
            if segments is None or not all(plain_segment(s) for s in segments):
                return None
            out.extend(segments)
    return tuple(out) if out else ("",)


def _add(pool: dict[Glob, None], method: str | None, tokens: tuple[Token, ...] | None) -> None:
    if tokens is None or method is None:
        return
    for verb in VERBS if method == "ANY" else (method,):
        pool[(verb, tokens)] = None
        if tokens[-1] is MANY:
            pool[(verb, (*tokens[:-1], PLUS))] = None  # the same without the lone trailing slash
        elif tokens[-1] != "":
            pool[(verb, (*tokens, ""))] = None  # the trailing-slash form routes alike


def _candidate_cost(route: Route) -> int:
    # A candidate glob for one bound value: a canonical check of its segments, then two pool entries per
    # verb the route takes (seven for ANY).
    return 2 + (7 if route.method == "ANY" else 1)


def _candidates(
    policy: Policy, facts: PolicyFacts, principal: Principal, budget: Budget
) -> tuple[list[Glob], list[Glob]]:
    granted = policy.allowed_routes(principal)
    allow: dict[Glob, None] = {}
    deny: dict[Glob, None] = {}
    values: set[str] = set()
    by_text = {route.text: route for route in facts.routes}
    allowed: list[tuple[Route, dict[str, str]]] = []
    for grant in granted.allowed:
        route = by_text.get(grant.route)
        if route is None:
            continue
        bound = dict(grant.bound_params)
        values.update(bound.values())
        values.update(v for exception in grant.except_params for v in exception.values())
        _add(allow, route.method, _tokens(route, bound))
        for exception in grant.except_params:
            _add(deny, route.method, _tokens(route, {**bound, **exception}))
        allowed.append((route, bound))
    values.update(v for g in granted.denied for e in g.except_params for v in e.values())
    ordered = sorted(values)
    # Table routes name exactly what is routable: the shapes an exact document is made of. Grants and
    # table routes also come with one free parameter bound to one of the caller's own values.
    for route, bound in [*allowed, *((route, {}) for route in facts.table or ())]:
        _add(allow, route.method, _tokens(route, bound))
        for param in route.params:
            if param in bound:
                continue
            for value in ordered:
                budget.spend(_candidate_cost(route))
                _add(allow, route.method, _tokens(route, {**bound, param: value}))
    denied = [(by_text.get(g.route), dict(g.bound_params)) for g in granted.denied]
    denied += [(route, {}) for route in facts.table or ()]
    for route, bound in denied:
        if route is None:
            continue
        _add(deny, route.method, _tokens(route, bound))
        for param in route.params:
            for value in ordered:  # carve-outs for the caller's own values (tenant acme's admin)
                budget.spend(_candidate_cost(route))
                _add(deny, route.method, _tokens(route, {**bound, param: value}))
    budget.spend(sum(len(tokens) for _verb, tokens in allow) // 2 + 1)  # the carve-outs below
    for verb, tokens in list(allow):
        # Carve-outs for what an Allow's '*' spans beyond its route: deeper paths, and a mid '*' taking
        # more than one segment.
        if tokens[-1] not in (MANY, PLUS, ""):
            deny[(verb, (*tokens, PLUS))] = None
        for i, token in enumerate(tokens):
            if token is MANY:
                deny[(verb, (*tokens[: i + 1], MANY, *tokens[i + 1 :]))] = None
                if i == len(tokens) - 1:
                    deny[(verb, (*tokens[:i], MANY, PLUS))] = None
    for verb in VERBS:
        deny[(verb, ("",))] = None  # the root
    budget.spend((len(allow) + len(deny)) // 2 + 1)
    return list(allow), list(deny)


# --- choosing --------------------------------------------------------------------------------------------


def _cover(targets: set[int], options: dict[Tokens, set[int]], budget: Budget) -> list[Tokens]:
    """Greedy set cover: fewest globs (roughly) whose classes cover ``targets``.

    Lazy greedy: a glob's gain only shrinks as classes get covered, so the heap holds each glob's gain
    when last computed and only the top is recomputed. Order (gain, then fewer tokens, then first
    offered) is total, so the result is the eager greedy's, without a pass over every option per pick
    (with a thousand candidates that pass was the costliest step of a proof, and went uncharged).
    """
    import heapq  # here, not at import: a cold start that proves nothing never needs it

    chosen: list[Tokens] = []
    left = set(targets)
    globs = list(options)
    budget.spend(len(globs) + sum(map(len, options.values())) // 8 + 1)
    heap = [(-len(options[g] & left), len(g), k) for k, g in enumerate(globs)]
    heapq.heapify(heap)
    while left and heap:
        _stale, size, k = heapq.heappop(heap)
        covers = options[globs[k]]
        budget.spend(1 + len(covers) // 16)
        gain = len(covers & left)
        if not gain:
            continue
        if heap and (-gain, size, k) > heap[0]:
            heapq.heappush(heap, (-gain, size, k))  # another glob may now gain more: look again
            continue
        chosen.append(globs[k])
        left -= covers
    return chosen


@lru_cache(maxsize=4096)  # the same candidate globs recur across rounds, verbs and proofs
def _glob_regex(tokens: tuple[Token, ...]) -> re.Pattern[str]:
    """The path part of a glob as IAM reads it ('*' any text, '?' one character), for matching the
    representatives' paths quickly. Only the choice uses it; the check reads the rendered document.

    Written so that a match costs time linear in the path per piece, never a backtracking search:
    between two '*' each literal piece is taken at its leftmost occurrence and never reconsidered (the
    look-ahead plus back-reference idiom is an atomic group on every Python version). That is exact for
    wildcard patterns: a '*' takes any text, so a piece placed further left leaves the rest of the path
    every chance a later placement would. A plain '.*' per '*' backtracked over every character: six
    of them took about 2 us per failing match on a 30-character path.
    """
    text = "/" + "/".join("*" if t is MANY else "?*" if t is PLUS else str(t) for t in tokens)
    pieces = [re.escape(piece).replace("\\?", ".") for piece in text.split("*")]
    if len(pieces) == 1:
        return re.compile(pieces[0], re.S)
    middle = "".join(f"(?=(.*?{piece}))\\{n}" for n, piece in enumerate(pieces[1:-1], start=1))
    return re.compile(f"{pieces[0]}{middle}.*{pieces[-1]}", re.S)


def _choose(
    policy: Policy,
    facts: PolicyFacts,
    principal: Principal,
    budget: Budget,
    extra: dict[str, set[str]] | None = None,
) -> tuple[list[Glob], list[Glob], tuple[str, ...]]:
    """Allow and Deny globs over the classes of requests, and the rules of allowed classes left out.

    The classes here come from the table and the policy alone (the candidates would multiply them);
    a glob is judged on their representatives. That is a guess, good for the usual shapes: the check
    then walks the classes the chosen globs make and has the last word.
    """
    allow_pool, deny_pool = _candidates(policy, facts, principal, budget)
    allow: list[Glob] = []
    deny: list[Glob] = []
    missed: dict[str, None] = {}
    done: dict[tuple[Any, ...], tuple[list[Tokens], list[Tokens], tuple[str, ...]]] = {}
    # The pools by verb, in one pass each (a pass per verb over a large table's pools was uncharged work).
    allows_of: dict[str, list[Tokens]] = {}
    denies_of: dict[str, list[Tokens]] = {}
    for pool, by_verb in ((allow_pool, allows_of), (deny_pool, denies_of)):
        for v, tokens in pool:
            by_verb.setdefault(v, []).append(tokens)
    for verb in VERBS:
        allows = allows_of.get(verb, [])
        if not allows:
            continue
        denies = denies_of.get(verb, [])
        extra_paths = tuple(sorted((extra or {}).get(verb, ())))
        # Verbs that the same routes reach (ANY routes only) with the same candidates have the same
        # classes and the same decisions (decide reads the verb only to pick routes): one choice serves
        # them all, so a table of ANY routes costs one verb's work, not seven.
        signature = (
            tuple(r.text for r in facts.table or () if r.method in ("ANY", verb)),
            tuple(r.text for r in facts.routes if r.method in ("ANY", verb)),
            tuple(allows),
            tuple(denies),
            extra_paths,
        )
        choice = done.get(signature)
        if choice is None:
            choice = done[signature] = _choose_verb(
                policy, facts, principal, verb, allows, denies, extra_paths, budget
            )
        allow += [(verb, tokens) for tokens in choice[0]]
        deny += [(verb, tokens) for tokens in choice[1]]
        missed.update(dict.fromkeys(choice[2]))
    return allow, deny, tuple(missed)


def _choose_verb(
    policy: Policy,
    facts: PolicyFacts,
    principal: Principal,
    verb: str,
    allows: list[Tokens],
    denies: list[Tokens],
    extra_paths: tuple[str, ...],
    budget: Budget,
) -> tuple[list[Tokens], list[Tokens], tuple[str, ...]]:
    """:func:`_choose` for one verb: (Allow paths, Deny paths, rules of allowed classes left out)."""
    api = policy.api
    table, routes = request_patterns(facts, principal, verb, budget)
    per_decide = decide_cost(facts, principal)
    allowed: list[tuple[str, tuple[str, ...]]] = []
    refused: list[str] = []
    words: dict[tuple[str, ...], None] = {}
    fresh = fresh_segment(frozenset().union(*(p.literals() for p in (*table, *routes))))
    for rep in walk_classes([*table, *routes], budget):
        # Routes cannot tell a trailing slash from none; globs can, so judge both forms.
        base = rep.word[:-1] if rep.word[-1:] == ("",) else rep.word
        words.update(dict.fromkeys([base, (*base, "")] if base else [("",)]))
        # Deeper words no route takes are one class for routes, not for globs: probe two of them.
        for deeper in ((*base, fresh), (*base, fresh, fresh)):
            words.update(dict.fromkeys([deeper, (*deeper, "")]))
    paths = dict.fromkeys("/" + "/".join(word) for word in words)
    paths.update(dict.fromkeys(extra_paths))
    # A single trailing slash routes and decides like none (the routing model), so the slashed form of a
    # path takes the bare form's answer: half the decides. Only the choice relies on it; the check runs
    # decide on its own representatives.
    answers: dict[str, tuple[bool, tuple[str, ...]] | None] = {}
    for path in paths:
        bare = path[:-1] if len(path) > 1 and path[-1] == "/" else path
        if bare not in answers:
            if request_segments(bare) is None or (api is not None and not api.routable(verb, bare)):
                answers[bare] = None
            else:
                budget.spend(per_decide)
                decision = policy.decide(principal, verb, bare)
                answers[bare] = (decision.allowed, decision.rules)
        answer = answers[bare]
        if answer is not None and request_segments(path) is not None:
            (allowed.append((path, answer[1])) if answer[0] else refused.append(path))

    allowed_paths = [path for path, _ in allowed]
    # Paths by first segment: a glob starting with a literal is only tried on paths starting so.
    by_head: dict[bool, dict[str, list[int]]] = {}
    for is_allowed, paths_of in ((True, allowed_paths), (False, refused)):
        heads: dict[str, list[int]] = {}
        for k, path in enumerate(paths_of):
            heads.setdefault(path[1:].split("/", 1)[0], []).append(k)
        by_head[is_allowed] = heads

    seen: dict[tuple[Tokens, bool], set[int]] = {}

    def hits(glob: Tokens, on_allowed: bool) -> set[int]:
        found = seen.get((glob, on_allowed))
        if found is not None:
            return found
        paths = allowed_paths if on_allowed else refused
        head = glob[0]
        candidates: Sequence[int]
        if isinstance(head, str) and head:
            candidates = by_head[on_allowed].get(head, ())
        else:
            candidates = range(len(paths))
        # What is charged is what is done: a unit per match run (see WORK_BUDGET).
        budget.spend(1 + len(candidates) // _MATCHES_PER_UNIT)
        fullmatch = _glob_regex(glob).fullmatch
        found = seen[(glob, on_allowed)] = {k for k in candidates if fullmatch(paths[k])}
        return found

    usable = {d: hits(d, False) for d in denies if not hits(d, True)}
    carved = set().union(*usable.values()) if usable else set()
    options = {}
    for glob in allows:
        if hits(glob, False) <= carved:
            options[glob] = hits(glob, True)
    chosen = _cover(set(range(len(allowed))), options, budget)
    reached = set().union(*(hits(g, False) for g in chosen)) if chosen else set()
    chosen_denies = _cover(reached, usable, budget)
    covered = set().union(*(options[g] for g in chosen)) if chosen else set()
    missed: dict[str, None] = {}
    for k, (_, rules) in enumerate(allowed):
        if k not in covered:
            missed.update(dict.fromkeys(rules))
    return chosen, chosen_denies, tuple(missed)


def _document(prefix: str, allow: list[Glob], deny: list[Glob]) -> dict[str, Any]:
    allows = tuple(dict.fromkeys(resource_of_glob(prefix, v, t) for v, t in allow))
    denies = tuple(dict.fromkeys(resource_of_glob(prefix, v, t) for v, t in deny))
    statements = []
    if allows:
        statements.append(Statement("Allow", allows))
    # A '*' spans paths the routing model refuses ("//", "/./"): refuse them as decide does.
    # Percent-escapes: IAM reads raw text, decide decoded segments (and a broken escape routes nowhere),
    # so a document with a wildcard or a carve-out refuses every escaped path.
    wild = any(MANY in t or PLUS in t for _v, t in allow)
    odd = tuple(prefix + p for p in ODD_PATHS) if wild else ()
    escaped = (prefix + ESCAPED_PATHS,) if wild or denies else ()
    if denies or odd:
        statements.append(Statement("Deny", (*denies, *odd, *escaped)))
    if not statements:
        statements.append(Statement("Deny", (prefix + "*",)))
    return policy_document(statements)


# --- proofs, memo ----------------------------------------------------------------------------------------


class _Proof(Frozen):
    __slots__ = ("allows", "detail", "document", "exact", "plan", "reason", "rules", "units")
    document: dict[str, Any] | None  # None: no checked document (reason says why)
    exact: bool
    reason: str
    detail: str
    rules: tuple[str, ...]
    # IAM's verdict on one ARN under `document` (iam_allows' semantics; compiled on its second use, see
    # _later_compiled); for a rendered proof, the stand-in's evaluator read through σ (renaming.rename).
    allows: Callable[[str], bool] | None
    plan: RenderPlan | None  # renaming.render of `document`, prepared once
    units: int  # work units the proof spent (all of them when it ran out); read by bench/

    def __init__(
        self,
        document: dict[str, Any] | None,
        exact: bool,
        reason: str,
        detail: str,
        rules: tuple[str, ...],
        allows: Callable[[str], bool] | None = None,
        plan: RenderPlan | None = None,
        units: int = 0,
    ) -> None:
        set_field(self, "document", document)
        set_field(self, "exact", exact)
        set_field(self, "reason", reason)
        set_field(self, "detail", detail)
        set_field(self, "rules", rules)
        set_field(self, "allows", allows)
        set_field(self, "plan", plan)
        set_field(self, "units", units)


def _prove(policy: Policy, principal: Principal, prefix: str, budget_units: int) -> _Proof:
    """:func:`_prove_within` with the cyclic garbage collector paused.

    A proof allocates many small tuples, sets and dicts that live until it returns; the collector's
    passes over them (and over everything else the process holds) cost up to half again the proof's own
    time, and when they run depends on the rest of the process, so a work unit would not mean a bounded
    time. Nothing a proof allocates is a reference cycle, so reference counting frees it all; memory
    stays bounded by the work budget. The collector is resumed only if it was running.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _prove_within(policy, principal, prefix, budget_units)
    finally:
        if paused:
            gc.enable()


def _prove_within(policy: Policy, principal: Principal, prefix: str, budget_units: int) -> _Proof:
    """Choose, render, check; a request the check finds wrongly allowed is fed back to the choice
    (a few rounds), so the check's counterexamples teach the guess what the classes it saw missed."""
    facts = policy_facts(policy)
    budget = Budget(budget_units)
    extra: dict[str, set[str]] = {}
    try:
        # Charged up front, before Policy.allowed_routes enumerates bindings: a token of long list
        # claims bound to many parameters runs out here, in microseconds.
        budget.spend(_BINDING * binding_count(policy, principal))
        for _round in range(_ROUNDS):
            allow, deny, missed = _choose(policy, facts, principal, budget, extra)
            document = _document(prefix, allow, deny)
            # The check compiles the document's Resources (two evaluators); its size is known before.
            budget.spend(document_size(document) * _UNITS_PER_BYTE)
            verdict = check_document(policy, principal, document, prefix, budget)
            if verdict.sound and verdict.exact:
                break
            learned = False
            for example in verdict.wrong if not verdict.sound else verdict.lost:
                verb, _, path = example.partition(" ")
                if path.startswith("/") and path not in extra.get(verb, ()):
                    extra.setdefault(verb, set()).add(path)
                    learned = True
            if not learned:
                break
    except BudgetExceeded:
        detail = "the policy and token need more work than one invocation may spend"
        return _Proof(None, False, "analysis_budget", detail, (), units=budget_units)
    if not verdict.sound:
        logger.error(
            "IAM document check failed on %s; answering for the current request only", verdict.example
        )
        detail = f"the document would allow {verdict.example}"
        return _Proof(None, False, "self_check_failed", detail, (), units=budget_units - budget.left)
    detail = (
        "" if verdict.exact else f"IAM globs cannot say everything decide allows (e.g. {verdict.example})"
    )
    rules = verdict.missed or missed
    reason = "" if verdict.exact else "inexact"
    matcher, plan = _later_compiled(document), RenderPlan.of(document, prefix)
    return _Proof(document, verdict.exact, reason, detail, rules, matcher, plan, budget_units - budget.left)


def _later_compiled(document: dict[str, Any]) -> Callable[[str], bool]:
    """:func:`iam_allows` on ``document``, compiled (:func:`document_matcher`) from its second use on.

    The caller the proof is made for asks once (its own request, in ``_finish``), and compiling costs
    about as much as the check's own evaluators; the memo's later callers, each asking once, share the
    compiled form. So a first proof never pays for it, and a later caller pays for it at most once per
    shape, bounded by the document's size (a few milliseconds for 8 KiB)."""
    uses: list[Callable[[str], bool] | None] = []  # [] never asked, [None] asked once, else compiled

    def allows(arn: str) -> bool:
        if not uses:
            uses.append(None)
            return iam_allows(document, arn)
        matcher = uses[0]
        if matcher is None:
            matcher = uses[0] = document_matcher(document)
        return matcher(arn)

    return allows


_MEMO: OrderedDict[tuple[Any, ...], tuple[Policy, _Proof]] = OrderedDict()
_MEMO_LOCK = Lock()
_MEMO_SIZE = 512


def clear_memo() -> None:
    """Forget every memoized proof (tests and benchmarks measure first proofs with it)."""
    with _MEMO_LOCK:
        _MEMO.clear()
        _FINISHED.clear()
        _BY_CALLER.clear()
        _TEMPLATES.clear()


def _memo_key(
    facts: PolicyFacts, principal: Principal, renamed: tuple[tuple[str, str], ...]
) -> tuple[Any, ...]:
    # Everything decide reads from a principal: its lists, token use, client, and each claim a condition
    # names (a renamed claim by its placeholder only, so equal-shaped callers share one proof). A plain
    # loop: for the two or three names a policy has, cheaper than a generator or maps.
    get, placeholders = principal.claims.get, dict(renamed)
    claims = []
    for name in facts.condition_claims:
        claims.append((name, placeholders.get(name) or repr(get(name))))
    return (
        tuple(principal.groups),
        tuple(principal.scopes),
        principal.token_use,
        principal.client_id,
        tuple(claims),
    )


def _caller_key(
    policy: Policy, principal: Principal, arn: MethodArn, budget: int
) -> tuple[tuple[Any, ...], Renaming | None]:
    """The memo key of the caller's proof (value-free when renamed), and the renaming if any."""
    facts = policy_facts(policy)
    renaming = plan_renaming(facts, principal)
    renamed = renaming.key if renaming is not None else ()
    return (id(policy), arn.prefix, budget, *_memo_key(facts, principal, renamed)), renaming


def _proof_for(
    policy: Policy,
    principal: Principal,
    arn: MethodArn,
    budget: int,
    key: tuple[Any, ...],
    renaming: Renaming | None,
) -> _Proof:
    """The caller's proof: the memoized one, rendered for the caller when it is a stand-in's."""
    proof = _memoized_proof(policy, principal, arn, budget, key, renaming)
    if renaming is None or proof.document is None:
        return proof
    stand_in_allows, swap, prefix = proof.allows, swap_of(renaming.values), arn.prefix

    def allows(resource_arn: str) -> bool:
        # σ is its own inverse: the rendered document allows an ARN exactly when the stand-in's allows
        # its σ-image (docs/architecture.md, step 5).
        return stand_in_allows is not None and stand_in_allows(rename(resource_arn, prefix, swap))

    plan = proof.plan or RenderPlan.of(proof.document, prefix)
    return _Proof(
        plan.render(renaming.values),
        proof.exact,
        proof.reason,
        proof.detail,
        proof.rules,
        allows,
        units=proof.units,
    )


def _memoized_proof(
    policy: Policy,
    principal: Principal,
    arn: MethodArn,
    budget: int,
    key: tuple[Any, ...],
    renaming: Renaming | None,
) -> _Proof:
    """The memoized proof under ``key`` (the stand-in's when renamed), proved on a miss."""
    with _MEMO_LOCK:
        hit = _MEMO.get(key)
        if hit is not None and hit[0] is policy:
            _MEMO.move_to_end(key)
    proof = hit[1] if hit is not None and hit[0] is policy else None
    if proof is None:
        # The stand-in only when a proof is needed: building it copies the claims.
        subject = renaming.stand_in if renaming is not None else principal
        proof = _prove(policy, subject, arn.prefix, budget)
        with _MEMO_LOCK:
            _MEMO[key] = (policy, proof)
            while len(_MEMO) > _MEMO_SIZE:
                _MEMO.popitem(last=False)
    return proof


def principal_proof(
    policy: Policy, principal: Principal, arn: MethodArn, budget: int = WORK_BUDGET
) -> _Proof:
    """The checked principal-wide proof for ``principal`` (memoized), before any current request is
    added: what ``cache_safety`` judges. ``document`` is ``None`` when there is none (see ``reason``)."""
    key, renaming = _caller_key(policy, principal, arn, budget)
    return _proof_for(policy, principal, arn, budget, key, renaming)


# Finished answers (a repeated token asking for the same ARN): the same caller facts, renamed values,
# ARN and verdict give the same result, so it is handed out again (as a copy) without any work.
_FINISHED: OrderedDict[tuple[Any, ...], tuple[Policy, PolicyResult]] = OrderedDict()
_FINISHED_SIZE = 1024


# The same again, by the caller's identity: a repeated token gets back the very Principal object the
# verifier cached, so (policy, principal, ARN, verdict, limits) finds its answer with one dictionary
# lookup, before any renaming or memo key is worked out. Entries hold the policy and principal
# themselves, so their ids cannot be reused while the entry lives; both are immutable.
# A renamed caller's entry is the way to fill its answer again (a new caller's answer is freshly filled,
# so it is handed out as it is instead of being copied for the cache).
_BY_CALLER: OrderedDict[
    tuple[Any, ...], tuple[Policy, Principal, PolicyResult | Callable[[], PolicyResult]]
] = OrderedDict()

# A new caller of a memoized, renamed shape: the stand-in's answer for the σ-image of the caller's ARN,
# settled once (every step of `_settle` reads the ARN and the document only up to σ) and kept as an
# AnswerTemplate, or as the reason and detail of a request-scoped answer. Keyed by the memo key, the
# σ-image of the ARN and the verdict; the size check is the caller's own (lengths are not σ-invariant).
_Outcome = AnswerTemplate | tuple[str, str]
_TEMPLATES: OrderedDict[tuple[Any, ...], tuple[Policy, _Proof, _Outcome, bool]] = OrderedDict()
_TEMPLATES_SIZE = 1024


def _copied(result: PolicyResult) -> PolicyResult:
    # Callers own the document they get (an adapter may add to it); the cache keeps its own.
    statements = [{**s, "Resource": list(s["Resource"])} for s in result.document["Statement"]]
    document = {"Version": result.document["Version"], "Statement": statements}
    return PolicyResult(
        document, result.scope, result.reason, result.size, result.detail, result.rules, result.exact
    )


# --- public API ------------------------------------------------------------------------------------------


def request_policy(policy: Policy, principal: Principal, method_arn: MethodArn) -> dict[str, Any]:
    """A document for the current ARN only: Allow it if ``decide`` allows and IAM can name it exactly,
    else Deny it."""
    decision = policy.decide(principal, method_arn.verb or "GET", method_arn.path)
    arn_text = method_arn.arn
    allowed = decision.allowed and _nameable(arn_text)
    return policy_document([Statement("Allow" if allowed else "Deny", (arn_text,))])


def _nameable(arn_text: str) -> bool:
    # An exact ARN is its own Resource only without IAM's wildcards or a policy variable ("${...}").
    return not any(text in arn_text for text in ("*", "?", "${"))


def _request_result(
    policy: Policy, principal: Principal, arn: MethodArn, reason: str, detail: str, allowed: bool
) -> PolicyResult:
    arn_text = arn.arn
    named = allowed and _nameable(arn_text)
    document = policy_document([Statement("Allow" if named else "Deny", (arn_text,))])
    return PolicyResult(document, "request", reason, document_size(document), detail)


def _websocket_document(policy: Policy, principal: Principal, arn: MethodArn) -> dict[str, Any]:
    keys = list(dict.fromkeys([*policy_facts(policy).websocket_keys, arn.path]))
    allowed = [
        k for k in keys if "*" not in k and "?" not in k and policy.decide(principal, "GET", k).allowed
    ]
    denied = [k for k in keys if k not in allowed]
    statements = []
    if allowed:
        statements.append(Statement("Allow", tuple(arn.with_resource(None, k) for k in allowed)))
    if denied:
        statements.append(Statement("Deny", tuple(arn.with_resource(None, k) for k in denied)))
    return policy_document(statements)


def build_principal_policy(
    policy: Policy,
    principal: Principal,
    method_arn: MethodArn,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    budget: int = WORK_BUDGET,
    allowed: bool | None = None,
) -> PolicyResult:
    """The document to return for ``principal`` on ``method_arn`` (see :class:`PolicyResult`).

    A principal-wide document never allows a routable request ``decide`` denies (checked after
    rendering); it allows the current request exactly when ``decide`` does and IAM can name it.
    ``allowed`` is the caller's own verdict on the current request when it decided on more than the
    ARN says (an authorizer that derived the API-relative path from the event); default: ``decide`` on
    the ARN's verb and path.
    """
    if method_arn.verb is None:
        document = _websocket_document(policy, principal, method_arn)
        return PolicyResult(document, "principal", "", document_size(document), exact=True)
    if allowed is None:
        allowed = policy.decide(principal, method_arn.verb, method_arn.path).allowed
    arn_text = method_arn.arn  # a property that builds the string: read once
    caller_key = (id(policy), id(principal), arn_text, allowed, max_bytes, budget)
    with _MEMO_LOCK:
        seen = _BY_CALLER.get(caller_key)
    if seen is not None and seen[0] is policy and seen[1] is principal:
        answer = seen[2]
        return _copied(answer) if isinstance(answer, PolicyResult) else answer()
    key, renaming = _caller_key(policy, principal, method_arn, budget)
    if renaming is not None:
        again = _renamed_answer(
            policy, principal, method_arn, arn_text, max_bytes, allowed, budget, key, renaming
        )
        _remember(caller_key, policy, principal, again)
        return again()
    done_key = (*key, (), arn_text, allowed, max_bytes)
    with _MEMO_LOCK:
        done = _FINISHED.get(done_key)
    if done is not None and done[0] is policy:
        _remember(caller_key, policy, principal, done[1])
        return _copied(done[1])
    result = _finish(
        policy,
        principal,
        method_arn,
        max_bytes,
        allowed,
        _proof_for(policy, principal, method_arn, budget, key, renaming),
    )
    with _MEMO_LOCK:
        _FINISHED[done_key] = (policy, result)
        while len(_FINISHED) > _FINISHED_SIZE:
            _FINISHED.popitem(last=False)
    _remember(caller_key, policy, principal, result)
    return _copied(result)


def _remember(
    key: tuple[Any, ...],
    policy: Policy,
    principal: Principal,
    result: PolicyResult | Callable[[], PolicyResult],
) -> None:
    with _MEMO_LOCK:
        _BY_CALLER[key] = (policy, principal, result)
        while len(_BY_CALLER) > _FINISHED_SIZE:
            _BY_CALLER.popitem(last=False)


def _renamed_answer(
    policy: Policy,
    principal: Principal,
    method_arn: MethodArn,
    arn_text: str,
    max_bytes: int,
    allowed: bool,
    budget: int,
    key: tuple[Any, ...],
    renaming: Renaming,
) -> Callable[[], PolicyResult]:
    """How to answer a caller whose proof is the stand-in's renamed through σ: the stand-in's answer for
    the σ-image of the ARN, settled once per shape, ARN image and verdict, then filled with the caller's
    values (:class:`~cognito_authz.iam.renaming.AnswerTemplate`), which is σ applied to it. Equal to
    ``_finish`` on the rendered proof: σ is its own inverse, fixes every literal and carries each glob's
    matches along (docs/architecture.md, step 5), so each test `_settle` makes on the document and the
    ARN answers alike for the two; only lengths differ, and the size check is made on the caller's.
    Each call of the returned function fills a fresh answer."""
    prefix = method_arn.prefix
    # The stand-in's request. σ moves only segments that are values or placeholders (which all hold a
    # '~'); when neither is even a substring of the ARN (the usual request: no user id in it), the ARN
    # is its own image without a split.
    values = renaming.values
    image = arn_text
    moved = "~" in arn_text
    for value in values.values():  # a loop: a generator costs more than the one or two values it reads
        moved = moved or value in arn_text
    if moved:
        image = rename(arn_text, prefix, swap_of(values))
    template_key = (*key, image, allowed)
    with _MEMO_LOCK:
        hit = _TEMPLATES.get(template_key)
        if hit is not None and hit[0] is policy:
            _TEMPLATES.move_to_end(template_key)
    if hit is None or hit[0] is not policy:
        proof = _memoized_proof(policy, principal, method_arn, budget, key, renaming)
        hit = (policy, proof, *_outcome(policy, renaming, _image_arn(method_arn, image), allowed, proof))
        with _MEMO_LOCK:
            _TEMPLATES[template_key] = hit
            while len(_TEMPLATES) > _TEMPLATES_SIZE:
                _TEMPLATES.popitem(last=False)
    _policy, proof, outcome, unnameable = hit
    # A partial, not a closure: one object instead of a cell per captured name, on every new caller.
    return partial(
        _filled_answer, policy, principal, method_arn, max_bytes, allowed, values, proof, outcome, unnameable
    )


def _filled_answer(
    policy: Policy,
    principal: Principal,
    method_arn: MethodArn,
    max_bytes: int,
    allowed: bool,
    values: Mapping[str, str],
    proof: _Proof,
    outcome: _Outcome,
    unnameable: bool,
) -> PolicyResult:
    """A fresh answer from a settled outcome (see :func:`_renamed_answer`)."""
    if proof.document is None and proof.reason == "analysis_budget":
        logger.warning("principal-wide IAM document for sub=%s: work budget exhausted", principal.sub)
    if unnameable:
        logger.warning(_UNNAMEABLE)
    if isinstance(outcome, tuple):
        reason, detail = outcome
        return _request_result(policy, principal, method_arn, reason, detail, allowed)
    filled = outcome.fill(values)
    if filled is None:  # a segment of the document equals a value: σ the plain way
        document = render(outcome.document, method_arn.prefix, values)
        filled = document, document_size(document), _longest(document)
    document, size, longest = filled
    return _sized(policy, principal, method_arn, max_bytes, allowed, proof, document, size, longest)


def _outcome(
    policy: Policy, renaming: Renaming, image: MethodArn, allowed: bool, proof: _Proof
) -> tuple[_Outcome, bool]:
    """The stand-in's settled answer for the ARN image ``image``, prepared for filling (a request-scoped
    answer as its reason and detail: the caller's own ARN is then named, not the image), and whether the
    request was refused as unnameable (logged for every caller, as `_finish` does)."""
    settled, unnameable = _settle(policy, renaming.stand_in, image, allowed, proof)
    if isinstance(settled, PolicyResult):
        return (settled.reason, settled.detail), unnameable
    placeholders = tuple(dict.fromkeys(placeholder for _claim, placeholder in renaming.key))
    return AnswerTemplate(settled, image.prefix, placeholders, document_size(settled)), unnameable


def _image_arn(method_arn: MethodArn, image: str) -> MethodArn:
    # The stand-in's request as a MethodArn: same API and stage, the path renamed. Built from the parsed
    # components, not parsed again (a placeholder may be longer than the value it stands for).
    head = (method_arn.partition, method_arn.region, method_arn.account, method_arn.api_id, method_arn.stage)
    return MethodArn._with_rest(head, image[len(method_arn.prefix) :])


def _longest(document: dict[str, Any]) -> int:
    return max(len(r) for s in document["Statement"] for r in s["Resource"])


def _finish(
    policy: Policy, principal: Principal, method_arn: MethodArn, max_bytes: int, allowed: bool, proof: _Proof
) -> PolicyResult:
    """The proof's document for this request: the current ARN added when decide allows it and the
    document does not, size limits applied."""
    if proof.document is None and proof.reason == "analysis_budget":
        logger.warning("principal-wide IAM document for sub=%s: work budget exhausted", principal.sub)
    settled, unnameable = _settle(policy, principal, method_arn, allowed, proof)
    if unnameable:
        logger.warning(_UNNAMEABLE)
    if isinstance(settled, PolicyResult):
        return settled
    return _sized(
        policy,
        principal,
        method_arn,
        max_bytes,
        allowed,
        proof,
        settled,
        document_size(settled),
        _longest(settled),
    )


_UNNAMEABLE = "the current request holds '*', '?' or '$': IAM cannot name it; refused"


def _settle(
    policy: Policy, principal: Principal, method_arn: MethodArn, allowed: bool, proof: _Proof
) -> tuple[PolicyResult | dict[str, Any], bool]:
    """The proof's document with the current ARN added when decide allows it and the document does
    not (before any size limit), or a request-scoped answer; and whether an allowed request was left out
    because IAM cannot name it. Reads the ARN and the document only through IAM matching, whole path
    segments and fixed texts, so a stand-in settles as its callers do up to σ."""
    if proof.document is None:
        return _request_result(policy, principal, method_arn, proof.reason, proof.detail, allowed), False
    document = proof.document
    statements = [dict(s) for s in document["Statement"]]
    # One evaluation for both guards below, by the evaluator compiled with the proof.
    arn_text = method_arn.arn  # a property that builds the string: read once
    covered = (proof.allows or (lambda arn: iam_allows(document, arn)))(arn_text)
    added = False  # whether the current ARN was added (only then can the verdict on it change)
    if not allowed and covered:
        # Checked sound over routable requests; this one is not (no route of the table takes it), so
        # API Gateway should not have sent it. Never answer it Allow.
        return _request_result(
            policy, principal, method_arn, "not_routable", "outside the route table", allowed
        ), False
    unnameable = allowed and not covered and not _nameable(arn_text)
    if allowed and not covered and not unnameable:
        if "%" in method_arn.path and any(
            method_arn.prefix + ESCAPED_PATHS in s["Resource"] for s in statements
        ):
            return _request_result(
                policy, principal, method_arn, "escaped_path", "escaped path under carve-outs", allowed
            ), False
        # Sound without a proof: the exact ARN of a request decide allows, with no wildcard in it.
        allow = next((s for s in statements if s["Effect"] == "Allow"), None)
        if allow is None:
            statements.insert(0, {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": []})
            allow = statements[0]
        allow["Resource"] = [*allow["Resource"], arn_text]
        added = True
        statements = [
            s
            for s in statements
            if not (s["Effect"] == "Deny" and s["Resource"] == [method_arn.prefix + "*"])
        ]
    settled = {"Version": document["Version"], "Statement": statements}
    # Unchanged document: it allows the current request exactly when `covered` says so, and an allowed
    # but uncovered request not added was refused above (unnameable) or returned (escaped path).
    if allowed and _nameable(arn_text) and added and not iam_allows(settled, arn_text):
        # A carve-out Deny covers this allowed request (an inexact document): answer it alone.
        return _request_result(
            policy, principal, method_arn, "carve_out", "a Deny covers this request", allowed
        ), False
    return settled, unnameable


def _sized(
    policy: Policy,
    principal: Principal,
    method_arn: MethodArn,
    max_bytes: int,
    allowed: bool,
    proof: _Proof,
    document: dict[str, Any],
    size: int,
    longest: int,
) -> PolicyResult:
    """The settled document as the answer, or a request-scoped one when it is too large for API Gateway."""
    if longest > MAX_RESOURCE_LENGTH or size > max_bytes:
        logger.warning(
            "principal-wide IAM document too large (%d bytes, longest Resource %d): request-scoped policy",
            size,
            longest,
        )
        return _request_result(
            policy,
            principal,
            method_arn,
            "too_large",
            f"{size} bytes (max_bytes={max_bytes}), longest Resource {longest}",
            allowed,
        )
    if not proof.exact:
        logger.info(
            "principal-wide IAM document for sub=%s is not exact (rules %s): %s",
            principal.sub,
            ", ".join(proof.rules) or "?",
            proof.detail,
        )
    return PolicyResult(document, "principal", proof.reason, size, proof.detail, proof.rules, proof.exact)
