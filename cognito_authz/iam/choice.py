"""Choosing a document's globs quickly (speed part): candidate globs, the cover, the document's statements.

:func:`candidates` lists the globs that can name what ``Policy.allowed_routes`` says the caller may do,
over the API's table; :func:`choose` picks Allows and carve-out Denies over the classes of requests
within a work budget; :func:`assemble` writes them as a document with the fail-closed Denies for odd and
escaped paths. Nothing here is trusted for soundness: the builder has every rendered document checked
(``iam.check``), and a wrong choice costs completeness, never soundness (``docs/architecture.md``,
"Cached authorizer answers are exact").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache, partial
from typing import Any

from cognito_authz.iam.check import ESCAPED_PATHS, ODD_PATHS
from cognito_authz.iam.classes import Budget, fresh_segment, walk_classes
from cognito_authz.iam.document import Statement, policy_document
from cognito_authz.iam.patterns import MANY, PLUS, Token, plain_segment, resource_of_glob
from cognito_authz.iam.world import (
    VERBS,
    Head,
    PolicyFacts,
    decide_cost,
    heads_of,
    request_patterns,
    table_takes_any_head,
    value_segments,
)
from cognito_authz.policy import AllowedRoutes, Policy
from cognito_authz.policy.routes import GREEDY, LITERAL, Route
from cognito_authz.principal import Principal
from cognito_authz.routing import request_segments

__all__ = ["Glob", "Tokens", "assemble", "candidates", "choose", "grant_guess"]

Tokens = tuple[Token, ...]  # a glob's path tokens
Glob = tuple[str, Tokens]  # (verb, path tokens)
# Glob-over-path matches run by the choice per unit: a fullmatch of a (linear-time) glob regex.
_MATCHES_PER_UNIT = 4
# How many leading segments the choice indexes its judged paths by.
_PREFIX_DEPTH = 3

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


def granted_routes(granted: AllowedRoutes) -> frozenset[str] | None:
    """The texts of the policy routes ``granted`` (``Policy.allowed_routes``) allows; ``None`` when the
    grants are not exact. ``AllowedRoutes`` promises that, when exact, ``decide`` allows a request only
    if some allow grant matches it, and a grant matches only requests its route matches."""
    return frozenset(grant.route for grant in granted.allowed) if granted.exact else None


def _head(route: Route) -> str | None:
    """A route's first segment when it is a literal ('' for the root), else ``None``."""
    if not route.pattern:
        return ""
    kind, text = route.pattern[0]
    return text if kind == LITERAL else None


def _heads(routes: Iterable[Route]) -> set[str | None] | None:
    """The literal first segments of ``routes``; ``None`` (any) when one starts with a parameter."""
    heads = {_head(route) for route in routes}
    return None if None in heads else heads


def candidates(
    facts: PolicyFacts, granted: AllowedRoutes, budget: Budget, table_too: bool = True
) -> tuple[list[Glob], list[Glob]]:
    """Allow and Deny candidates from the grants and, with ``table_too``, from the table's routes."""
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
    # Table routes name exactly what is routable: the shapes an exact document is made of. Only those
    # whose first segment some grant can take may name an allowed request (AllowedRoutes: decide allows
    # only what a grant matches, when exact), or need carving out of an Allow.
    heads = _heads(route for route, _bound in allowed) if granted.exact else None
    table = [r for r in facts.table or () if table_too and (heads is None or _head(r) in heads)]
    budget.spend(len(facts.table or ()) // 16 + 1 if table_too else 1)
    # Grants and table routes also come with one free parameter bound to one of the caller's own values.
    for route, bound in [*allowed, *((route, {}) for route in table)]:
        _add(allow, route.method, _tokens(route, bound))
        for param in route.params:
            if param in bound:
                continue
            for value in ordered:
                budget.spend(_candidate_cost(route))
                _add(allow, route.method, _tokens(route, {**bound, param: value}))
    denied = [(by_text.get(g.route), dict(g.bound_params)) for g in granted.denied]
    denied += [(route, {}) for route in table]
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


def grant_guess(
    facts: PolicyFacts, granted: AllowedRoutes, budget: Budget
) -> tuple[list[Glob], list[Glob]] | None:
    """Allows and Denies read straight off the grants, judging no request: a first guess for the usual
    principal (an admin's ``ANY /{proxy+}``, a reader's routes, a tenant member's tenant less its admin
    route). ``None`` when the grants are not exact, hold an exception or a WebSocket route, or a value
    cannot be named.

    Each allow grant becomes its route as a glob: bound parameters as their values, a trailing parameter
    as ``?*`` (one or more segments, never the lone trailing slash, so ``/{proxy+}`` leaves the root
    out), another as ``*``, and a route of literals with its trailing-slash form. A deny grant under a
    first segment no Allow can take is left out (no Allow reaches it); one under a first segment an
    Allow takes becomes a Deny, its free parameters bound to the values that Allow's grant binds to
    parameters of the same name (``/tenants/{t}/admin`` under ``/tenants/acme/{proxy+}``). A wildcard
    may still reach words its route does not (``a/*/b`` takes ``a/x/y/b``): then the check finds them,
    and the builder falls back to :func:`choose`. Like the rest of the choice it is a guess; the check
    has the last word.
    """
    if not granted.exact:
        return None
    budget.spend(len(granted.allowed) + 2 * len(granted.denied) + 1)
    by_verb: dict[str, dict[Tokens, None]] = {}
    bindings: dict[str | None, list[dict[str, str]]] = {}  # allow grants' bound values by first segment
    for grant in granted.allowed:
        route = facts.route_of.get(grant.route)
        if route is None or grant.except_params or route.method is None:
            return None
        bound = dict(grant.bound_params)
        tokens = _tokens(route, bound)
        if tokens is None:
            return None
        last = route.pattern[-1] if route.pattern else None
        if last is not None and last[0] != LITERAL and last[1] not in bound:
            tokens = (*tokens[:-1], PLUS)
        forms = [tokens] if tokens[-1] is PLUS or tokens == ("",) else [tokens, (*tokens, "")]
        for verb in VERBS if route.method == "ANY" else (route.method,):
            by_verb.setdefault(verb, {}).update(dict.fromkeys(forms))
        bindings.setdefault(tokens[0] if isinstance(tokens[0], str) else None, []).append(bound)
    deny: dict[Glob, None] = {}
    for grant in granted.denied:
        route = facts.route_of.get(grant.route)
        if route is None or grant.except_params or route.method is None:
            return None
        head = _head(route)
        # The Allows that may meet it: under its first segment, or under any.
        meets = [*bindings.get(head, ()), *bindings.get(None, ())] if head is not None else None
        if meets is None:
            return None  # a deny grant under any first segment: the choice's job
        for bound in meets:
            tokens = _tokens(route, {**bound, **grant.bound_params})
            if tokens is None:
                return None
            forms = (
                [tokens] if not isinstance(tokens[-1], str) or tokens == ("",) else [tokens, (*tokens, "")]
            )
            for verb in VERBS if route.method == "ANY" else (route.method,):
                deny.update(dict.fromkeys((verb, form) for form in forms))
    allow: list[Glob] = []
    for verb, found in by_verb.items():
        # `x/` and `x/?*` together are `x/*` (IAM's '*' is '?*' or nothing): one Resource, not two.
        globs = dict(found)
        for tokens in found:
            if tokens[-1] is PLUS and (*tokens[:-1], "") in globs:
                del globs[tokens], globs[(*tokens[:-1], "")]
                globs[(*tokens[:-1], MANY)] = None
        # A glob of literals another glob of the verb already matches adds nothing.
        wild = [
            _glob_regex(tokens).fullmatch for tokens in globs if not all(isinstance(t, str) for t in tokens)
        ]
        budget.spend(len(globs) * (len(wild) + 1) // _MATCHES_PER_UNIT + 1)
        kept = []
        for tokens in globs:
            if all(isinstance(t, str) for t in tokens):
                path = "/" + "/".join(str(t) for t in tokens)
                if any(match(path) for match in wild):
                    continue
            kept.append(tokens)
        # Wildcard Resources first, then literal ones, each in the grants' order (a stable order).
        kept.sort(key=lambda tokens: all(isinstance(t, str) for t in tokens))
        allow += [(verb, tokens) for tokens in kept]
    return allow, list(deny)


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


def choose(
    policy: Policy,
    facts: PolicyFacts,
    principal: Principal,
    granted: AllowedRoutes,
    budget: Budget,
    extra: dict[str, set[str]] | None = None,
) -> tuple[list[Glob], list[Glob], tuple[str, ...]]:
    """Allow and Deny globs over the classes of requests, and the rules of allowed classes left out.

    The classes here come from the table and the policy alone (the candidates would multiply them);
    a glob is judged on their representatives. That is a guess, good for the usual shapes: the check
    then walks the classes the chosen globs make and has the last word.
    """
    # Two tiers of candidates: the grants' own globs first, which usually say everything (an admin's
    # '*', a reader's routes), and only when they leave an allowed path out, the table's routes too.
    grant_allows, grant_denies = _by_verb(candidates(facts, granted, budget, table_too=False))
    with_table: list[tuple[dict[str, list[Tokens]], dict[str, list[Tokens]]]] = []

    def more(verb: str) -> tuple[list[Tokens], list[Tokens]]:
        if not with_table:
            with_table.append(_by_verb(candidates(facts, granted, budget)))
        return with_table[0][0].get(verb, []), with_table[0][1].get(verb, [])

    # Verbs on which a table route starts with a parameter: its candidates reach every first segment.
    wide = {verb for verb in VERBS if table_takes_any_head(facts, verb)}
    allow: list[Glob] = []
    deny: list[Glob] = []
    missed: dict[str, None] = {}
    done: dict[tuple[Any, ...], Choice] = {}
    for verb in VERBS:
        allows = grant_allows.get(verb, [])
        if not allows and granted.exact:
            continue  # no grant reaches the verb, so decide allows nothing on it
        denies = grant_denies.get(verb, [])
        extra_paths = tuple(sorted((extra or {}).get(verb, ())))
        choice = _choose_verb(
            policy,
            facts,
            principal,
            granted,
            verb,
            (allows, denies, partial(more, verb), verb in wide),
            extra_paths,
            budget,
            done,
        )
        allow += [(verb, tokens) for tokens in choice[0]]
        deny += [(verb, tokens) for tokens in choice[1]]
        missed.update(dict.fromkeys(choice[2]))
    return allow, deny, tuple(missed)


def _by_verb(pools: tuple[list[Glob], list[Glob]]) -> tuple[dict[str, list[Tokens]], dict[str, list[Tokens]]]:
    """The two pools by verb, in one pass each (a pass per verb over a large table's pools was
    uncharged work)."""
    allows_of: dict[str, list[Tokens]] = {}
    denies_of: dict[str, list[Tokens]] = {}
    for pool, by_verb in ((pools[0], allows_of), (pools[1], denies_of)):
        for v, tokens in pool:
            by_verb.setdefault(v, []).append(tokens)
    return allows_of, denies_of


Choice = tuple[list[Tokens], list[Tokens], tuple[str, ...]]
# A verb's candidates: the grants' Allows and Denies, the way to get the table's too, and whether one of
# those reaches every first segment.
Tiers = tuple[list[Tokens], list[Tokens], Callable[[], tuple[list[Tokens], list[Tokens]]], bool]


def _choose_verb(
    policy: Policy,
    facts: PolicyFacts,
    principal: Principal,
    granted: AllowedRoutes,
    verb: str,
    tiers: Tiers,
    extra_paths: tuple[str, ...],
    budget: Budget,
    done: dict[tuple[Any, ...], Choice],
) -> Choice:
    """:func:`_choose` for one verb: (Allow paths, Deny paths, rules of allowed classes left out).

    Verbs handed the same patterns, candidates and extra paths share one choice (``done``): the routes
    that reach the words judged are the same, and decide reads the verb only to pick routes, so the
    decisions are too (a table of ANY routes costs one verb's work, not seven)."""
    allows, denies, more, wide = tiers
    api = policy.api
    per_decide = decide_cost(facts, principal)
    allowed: list[tuple[str, tuple[str, ...]]] = []
    refused: list[str] = []
    words: dict[tuple[str, ...], None] = {}
    # Only the words a granted route reaches can be allowed, so only they and the refused words beside
    # them are judged (a guess like the rest of the choice: a candidate reaching further is caught by
    # the check, whose counterexample comes back in `extra_paths`). A candidate starting with a wildcard
    # reaches every first segment: then every word is judged.
    texts = granted_routes(granted)
    asked = texts is not None and not wide and all(isinstance(tokens[0], str) for tokens in allows)
    heads: set[Head] | None = heads_of(facts, texts, verb) if texts is not None and asked else None
    if heads is not None and None in heads:
        heads = None
    table, routes, sources = request_patterns(facts, principal, verb, budget, heads)
    fresh = fresh_segment(frozenset().union(*(p.literals() for p in (*table, *routes))))
    relevant = None
    if texts is not None and asked:
        relevant = [len(table) + k for k, named in enumerate(sources) if not named.isdisjoint(texts)]
    within = range(len(table)) if facts.table is not None else None
    budget.spend((len(table) + len(routes) + len(allows) + len(denies)) // 8 + 1)  # the key below
    key = (
        tuple(table),
        tuple(routes),
        None if relevant is None else tuple(relevant),
        tuple(allows),
        tuple(denies),
        extra_paths,
    )
    shared = done.get(key)
    if shared is not None:
        return shared
    known: dict[str, bool] = {}  # bare path -> routable, as the walk found it
    table_indexes = frozenset(range(len(table))) if facts.table is not None else None
    for rep in walk_classes([*table, *routes], budget, relevant, within, every_state=True):
        # Routes cannot tell a trailing slash from none; globs can, so judge both forms.
        base = rep.word[:-1] if rep.word[-1:] == ("",) else rep.word
        words.update(dict.fromkeys([base, (*base, "")] if base else [("",)]))
        if base and table_indexes is not None:
            # Whether a table route takes it: the walk knows (a slash routes like none).
            known["/" + "/".join(base)] = not table_indexes.isdisjoint(rep.accepted)
        # Deeper words no route takes are one class for routes, not for globs: probe two of them (under
        # a table, only where a table route may take another segment: elsewhere nothing is routable).
        if rep.deeper or facts.table is None:
            for deeper in ((*base, fresh), (*base, fresh, fresh)):
                words.update(dict.fromkeys([deeper, (*deeper, "")]))
    paths = dict.fromkeys("/" + "/".join(word) for word in words)
    paths.update(dict.fromkeys(extra_paths))
    budget.spend(len(paths) // 2 + 1)  # each path written, checked and sorted below, decide aside
    # A single trailing slash routes and decides like none (the routing model), so the slashed form of a
    # path takes the bare form's answer: half the decides. Only the choice relies on it; the check runs
    # decide on its own representatives.
    answers: dict[str, tuple[bool, tuple[str, ...]] | None] = {}
    for path in paths:
        bare = path[:-1] if len(path) > 1 and path[-1] == "/" else path
        if bare not in answers:
            routable = known.get(bare)
            if routable is None:
                routable = api is None or api.routable(verb, bare)
            if not routable or request_segments(bare) is None:
                answers[bare] = None
            else:
                budget.spend(per_decide)
                decision = policy.decide(principal, verb, bare)
                answers[bare] = (decision.allowed, decision.rules)
        answer = answers[bare]
        # One trailing slash routes like none (request_segments): only a bare path that itself ends
        # in a slash needs the slashed form asked again.
        if answer is not None and (path == bare or bare[-1] != "/" or request_segments(path) is not None):
            (allowed.append((path, answer[1])) if answer[0] else refused.append(path))

    allowed_paths = [path for path, _ in allowed]
    # Paths by their first one to three segments: a glob starting with literals is only tried on the
    # paths starting with them (a literal token is one whole segment of the path).
    by_head: dict[bool, dict[str, list[int]]] = {}
    by_prefix: dict[bool, dict[tuple[str, ...], list[int]]] = {}
    budget.spend((len(allowed_paths) + len(refused)) // 4 + 1)
    for is_allowed, paths_of in ((True, allowed_paths), (False, refused)):
        firsts: dict[str, list[int]] = {}
        prefixes: dict[tuple[str, ...], list[int]] = {}
        for k, path in enumerate(paths_of):
            segments = path[1:].split("/", _PREFIX_DEPTH)[:_PREFIX_DEPTH]
            firsts.setdefault(segments[0], []).append(k)
            for depth in range(2, len(segments) + 1):
                prefixes.setdefault(tuple(segments[:depth]), []).append(k)
        by_head[is_allowed] = firsts
        by_prefix[is_allowed] = prefixes

    seen: dict[tuple[Tokens, bool], set[int]] = {}

    def hits(glob: Tokens, on_allowed: bool) -> set[int]:
        found = seen.get((glob, on_allowed))
        if found is not None:
            return found
        paths = allowed_paths if on_allowed else refused
        prefix: list[str] = []
        for token in glob[:_PREFIX_DEPTH]:
            if not (isinstance(token, str) and token):
                break
            prefix.append(token)
        candidates: Sequence[int]
        if len(prefix) > 1:
            candidates = by_prefix[on_allowed].get(tuple(prefix), ())
        elif prefix:
            candidates = by_head[on_allowed].get(prefix[0], ())
        else:
            candidates = range(len(paths))
        # What is charged is what is done: a unit per match run (see WORK_BUDGET).
        budget.spend(1 + len(candidates) // _MATCHES_PER_UNIT)
        fullmatch = _glob_regex(glob).fullmatch
        found = seen[(glob, on_allowed)] = {k for k in candidates if fullmatch(paths[k])}
        return found

    for tier in range(2):
        if tier:
            allows, denies = more()  # the grants' candidates left allowed paths out: the table's too
        # A glob starting with a literal no judged path starts with matches none of them: it could
        # neither cover an allowed path nor carve out a refused one.
        allows = [glob for glob in allows if _may_hit(glob, by_head[True])]
        denies = [glob for glob in denies if _may_hit(glob, by_head[False])]
        # Offered with the fewest wildcards first, so that of two carve-outs refusing the same judged
        # words the cover takes the narrower: a '*' in the middle of a Deny also spans deeper words the
        # choice did not judge (tenants/*/admin refuses tenants/acme/x/admin, which acme's member may call).
        budget.spend(len(denies) // 8 + 1)
        narrowest = sorted(denies, key=lambda tokens: sum(not isinstance(t, str) for t in tokens))
        usable = {d: hits(d, False) for d in narrowest if not hits(d, True)}
        carved = set().union(*usable.values()) if usable else set()
        options = {}
        for glob in allows:
            if hits(glob, False) <= carved:
                options[glob] = hits(glob, True)
        chosen = _cover(set(range(len(allowed))), options, budget)
        reached = set().union(*(hits(g, False) for g in chosen)) if chosen else set()
        chosen_denies = _cover(reached, usable, budget)
        covered = set().union(*(options[g] for g in chosen)) if chosen else set()
        if len(covered) == len(allowed):
            break
    missed: dict[str, None] = {}
    for k, (_, rules) in enumerate(allowed):
        if k not in covered:
            missed.update(dict.fromkeys(rules))
    done[key] = (chosen, chosen_denies, tuple(missed))
    return done[key]


def _may_hit(glob: Tokens, heads: dict[str, list[int]]) -> bool:
    head = glob[0]
    return not (isinstance(head, str) and head) or head in heads


def assemble(prefix: str, allow: list[Glob], deny: list[Glob]) -> dict[str, Any]:
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
