"""Classes of requests: finitely many words that stand for every request (soundness part).

Given patterns (routes and globs, :mod:`cognito_authz.iam.patterns`), two words that every pattern
accepts or rejects alike are alike for anything that depends on a segment only through these patterns
(step 2 of the argument in ``docs/architecture.md``). :func:`walk_classes` runs all patterns side by side as
one lazily built automaton and returns one representative word per distinct set of accepting patterns
reachable, over every word of non-empty segments optionally closed by one empty segment (a trailing
slash). A segment equal to no literal of any pattern behaves like every other such segment, so one fresh
segment stands for all of them. Patterns the caller names ``blind`` count only as a whole (whether one of
them accepts), which makes the classes coarser: the check's table, whose routes matter only as routable
or not.

Cost is counted in a :class:`Budget`; running out raises :class:`BudgetExceeded` before memory or time
can grow further. The walk never decides anything itself: callers evaluate ``decide`` and the IAM
matcher on the representatives.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.iam.patterns import MANY, ONE, PLUS, SegmentPattern

__all__ = ["Budget", "BudgetExceeded", "walk_classes"]


class BudgetExceeded(Exception):
    """The work allowed for one invocation ran out (the caller falls back; never an Allow)."""


class Budget:
    """Deterministic units of work (automaton states, steps, ``decide`` calls, candidate patterns).

    One unit is a few microseconds and a few hundred bytes at most, so a cap in units caps time and
    memory whatever a token carries.
    """

    __slots__ = ("left",)

    def __init__(self, units: int) -> None:
        self.left = units

    def spend(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise BudgetExceeded("work budget exhausted")


# NFA state per pattern: 2*p = before token p; 2*p+1 = inside MANY at p (one or more segments taken);
# _FINAL = a routed pattern that accepted and then took the closing empty segment.
_FINAL = -2
_DEAD = -3


def _closure(pattern: SegmentPattern, states: set[int]) -> frozenset[int]:
    # Leaving a MANY that has taken at least one segment is free.
    for state in list(states):
        if state >= 0 and state % 2:
            states.add(state + 1)
    return frozenset(states)


def _step(pattern: SegmentPattern, states: frozenset[int], symbol: str) -> frozenset[int]:
    tokens = pattern.tokens
    end = 2 * len(tokens)
    out: set[int] = set()
    if symbol == "" and pattern.routed:
        # Routing ignores one trailing slash: a routed pattern that accepted stays accepted, once.
        return frozenset({_FINAL}) if end in states else frozenset()
    for state in states:
        if state < 0:
            continue
        position, inside = divmod(state, 2)
        if inside:
            out.add(state)
            continue
        if position >= len(tokens):
            continue
        token = tokens[position]
        if token is MANY:
            out.add(state + 1)
        elif token is PLUS:
            # Our words hold an empty segment only last, so "non-empty text" is "not a lone ''".
            if symbol != "":
                out.add(state + 1)
        elif token is ONE:
            if symbol != "":
                out.add(state + 2)
        elif token == symbol:
            out.add(state + 2)
    return _closure(pattern, out)


def _survives_closing(pattern: SegmentPattern, states: frozenset[int]) -> bool:
    """Whether :func:`_step` on the closing empty segment leaves a state alive (the same cases, read
    without building the result): a routed pattern that has accepted, or a glob inside ``MANY``, before
    ``MANY`` or before an empty literal. The walk steps the closing segment only for these; every other
    pattern dies on it."""
    tokens = pattern.tokens
    if pattern.routed:
        return 2 * len(tokens) in states
    for state in states:
        if state < 0:
            continue
        position, inside = divmod(state, 2)
        if inside or (position < len(tokens) and (tokens[position] is MANY or tokens[position] == "")):
            return True
    return False


def _expects(pattern: SegmentPattern, states: frozenset[int]) -> set[str]:
    out: set[str] = set()
    for state in states:
        if state >= 0 and not state % 2 and state // 2 < len(pattern.tokens):
            token = pattern.tokens[state // 2]
            if isinstance(token, str):
                out.add(token)
    return out


def _needs(pattern: SegmentPattern, states: frozenset[int]) -> tuple[str, ...] | None:
    """The literals the NFA states wait for, when any other non-empty segment kills every one of them;
    ``None`` when a wildcard can take any segment (a state inside ``MANY`` or before a wildcard). A state
    past the last token, or closed by a trailing slash, dies on every non-empty segment."""
    tokens = pattern.tokens
    out: list[str] = []
    for state in states:
        if state < 0:
            continue
        if state % 2:
            return None
        position = state // 2
        if position < len(tokens):
            token = tokens[position]
            if not isinstance(token, str):
                return None
            if token and token not in out:
                out.append(token)
    return tuple(out)


_ALONE = (frozenset({0}), frozenset({1}))
_START = _ALONE[0]


def _greedy(pattern: SegmentPattern, states: frozenset[int]) -> bool:
    """Whether a state is inside ``MANY`` or before it (the pattern takes any number of segments)."""
    tokens = pattern.tokens
    return any(s >= 0 and (s % 2 or (s // 2 < len(tokens) and tokens[s // 2] is MANY)) for s in states)


def _remaining(pattern: SegmentPattern, states: frozenset[int]) -> tuple[object, ...]:
    """What a pattern in NFA states ``states`` still does: its tokens from the first one a state is at,
    the states counted from there, and how it matches. Two live patterns with equal ones accept the same
    continuations (the automaton reads only these)."""
    if len(states) == 1:
        (state,) = states
        if state >= 0:  # the usual case, one state: no minimum to find, no set to build
            return pattern.tokens[state // 2 :], _ALONE[state % 2], pattern.routed
    first = min((state // 2 for state in states if state >= 0), default=len(pattern.tokens))
    shifted = frozenset(state - 2 * first if state >= 0 else state for state in states)
    return pattern.tokens[first:], shifted, pattern.routed


class Representative(Frozen):
    """One word standing for its class, and the indexes of the patterns that accept it. ``deeper`` (a
    hint, given with ``every_state``): whether a pattern the walk was asked about ``within`` is in a
    greedy parameter after this word, or before one, so that words many segments deeper (which the walk
    folds into this state) may still be accepted."""

    __slots__ = ("accepted", "deeper", "word")
    word: tuple[str, ...]
    accepted: frozenset[int]
    deeper: bool

    def __init__(self, word: tuple[str, ...], accepted: frozenset[int], deeper: bool = True) -> None:
        set_field(self, "word", word)
        set_field(self, "accepted", accepted)
        set_field(self, "deeper", deeper)


def fresh_segment(taken: frozenset[str]) -> str:
    """A plain segment equal to none of ``taken``."""
    fresh = "x0"
    while fresh in taken:
        fresh += "0"
    return fresh


def walk_classes(
    patterns: Sequence[SegmentPattern],
    budget: Budget,
    relevant: Collection[int] | None = None,
    within: Collection[int] | None = None,
    every_state: bool = False,
    blind: Collection[int] | None = None,
) -> list[Representative]:
    """One representative per reachable set of accepting patterns (see the module docstring).

    A product state lists only the live patterns, as ``(index, NFA states)`` pairs; single-pattern
    steps are memoized, since the same pattern state recurs in many product states. Equal patterns (a
    table route and the policy route of the same text) accept the same words, so the automaton runs on
    each distinct pattern once, asked about or within when any of its copies is, and a representative's
    ``accepted`` names every copy: the classes are the same, with half the patterns to step.

    ``relevant`` and ``within`` (indexes into ``patterns``) narrow the walk to the words the caller asks
    about: a word is visited, and its class represented, only while some pattern of ``relevant`` and
    (when given) some pattern of ``within`` can still accept it or an extension of it. A pattern that
    has died never revives, so a product state with none of them live is left with every word below
    it, and every class holding a word that a ``relevant`` pattern and a ``within`` pattern accept
    still gets a representative (that word's own walk never leaves them). The check passes the
    document's Allows and the granted routes as ``relevant`` and the API's table as ``within``
    (``docs/architecture.md``, step 3).

    ``every_state`` returns a word per class and set of live asked patterns instead (words of one class
    that an asked pattern can still tell apart later each get one): the choice judges globs on them,
    which tell apart more than the patterns do (``/tenants/~0~`` from ``/tenants/x0``).

    ``blind`` (indexes into ``patterns``; not with ``every_state``) names patterns the caller tells apart
    only as a whole: a class is then the set of accepting patterns outside ``blind`` plus whether some
    pattern of ``blind`` accepts. The check passes the API's table: what it needs from the table is
    whether a request is routable, not which route takes it (``docs/architecture.md``, step 3). Each
    representative's ``accepted`` still names every pattern that accepts its own word.
    """
    if every_state and blind:
        raise ValueError("walk_classes: blind patterns are for the class walk, not for every_state")
    count = len(patterns)
    budget.spend(count + 1)
    chosen = [relevant is None] * count
    for i in relevant or ():
        chosen[i] = True
    table = [within is None] * count
    for i in within or ():
        table[i] = True
    # The distinct patterns in first-seen order (the automaton's, indexed u below) and each one's copies.
    distinct: dict[SegmentPattern, int] = {}
    copies: list[list[int]] = []
    for i, pattern in enumerate(patterns):
        u = distinct.setdefault(pattern, len(copies))
        if u == len(copies):
            copies.append([])
        copies[u].append(i)
    pats = list(distinct)
    # A distinct pattern is blind when every copy is: a copy the caller names keeps it named.
    unseen = [True] * count
    for i in blind or ():
        unseen[i] = False
    if len(pats) == count:  # no two patterns equal: each is its own only copy
        asked, inside, named = chosen, table, unseen
    else:
        asked = [False] * len(copies)
        inside = [False] * len(copies)
        named = [False] * len(copies)
        for u, same in enumerate(copies):
            for i in same:
                asked[u] = asked[u] or chosen[i]
                inside[u] = inside[u] or table[i]
                named[u] = named[u] or unseen[i]
    told = [p.told() for p in pats]  # the symbols pattern u tells apart (see step())
    fresh = fresh_segment(frozenset().union(*told) - {""})
    # Per pattern, 1 if asked about plus 2 if within: a stepped product state is kept when these,
    # or-ed over its live patterns, give 3 (both an asked and a within pattern are live).
    kinds = [asked[u] + 2 * inside[u] for u in range(len(pats))]
    ends = [2 * len(p.tokens) for p in pats]  # the NFA state of a pattern that has accepted

    # A live pattern's part of a first segment's shape (below), interned as a number: equal parts get
    # equal numbers, so a shape is a tuple of small ints, hashed and compared cheaply.
    parts: dict[tuple[object, ...], int] = {}
    # Single-pattern steps, memoized by the pattern, its NFA states and the symbol only through its
    # equality with the pattern's literals (and with the closing ''), as _step reads it: any other
    # segment steps like `fresh`, so a wildcard pattern (the document's `*`, an `ANY /{proxy+}`) is
    # stepped once, not once per first segment of the table. Each entry holds the NFA states after the
    # step, whether the pattern accepts there, and its part (-1 when it died).
    Stepped = tuple[frozenset[int], bool, int]
    steps: dict[tuple[int, frozenset[int], str], Stepped] = {}

    def step(u: int, states: frozenset[int], symbol: str) -> Stepped:
        key = (u, states, symbol if symbol in told[u] else fresh)
        found = steps.get(key)
        if found is None:
            # One unit per four single-pattern steps computed (about 0.3 us each; the memo keeps the
            # count, and so the memory, within what was charged).
            if not len(steps) % 4:
                budget.spend(1)
            t = _step(pats[u], states, symbol)
            number = -1
            if t:
                part = (_remaining(pats[u], t), asked[u], inside[u], named[u])
                number = parts.setdefault(part, len(parts))
            found = steps[key] = (t, ends[u] in t or _FINAL in t, number)
        return found

    Product = tuple[tuple[int, frozenset[int]], ...]
    # Every pattern before its first token: state 0 is even, so its closure is itself.
    start: Product = tuple([(u, _START) for u in range(len(pats))])
    # Per class (or class and live asked patterns): its word, what accepts it, and the deeper hint.
    found: dict[object, tuple[tuple[str, ...], tuple[int, ...], bool]] = {}
    # Per product state: live patterns that wait for one literal (by that literal), the others, and the
    # symbols worth stepping. A pattern waiting for "orders" dies on any other segment, so it is never
    # stepped for one; a symbol that can only keep patterns nobody asked about is not stepped at all.
    Live = list[tuple[int, frozenset[int]]]
    # (waiting, other, symbols, closing): ``closing`` the live patterns the closing '' leaves alive.
    Split = tuple[dict[str, Live], Live, list[str], Live]
    index: dict[Product, Split] = {}
    prune = relevant is not None or within is not None

    def split(states: Product) -> Split:
        found_split = index.get(states)
        if found_split is None:
            # The split, then the symbols: each live pattern's next literals.
            budget.spend(len(states) // 8 + len(states) // 4 + 2)
            waiting: dict[str, Live] = {}
            other: Live = []
            for u, s in states:
                needs = _needs(pats[u], s)
                if needs is None:
                    other.append((u, s))
                for need in needs or ():
                    waiting.setdefault(need, []).append((u, s))
            if not prune or any(asked[u] for u, _s in other):
                symbols = {fresh, *waiting}
                for u, s in other:
                    symbols |= _expects(pats[u], s)
            else:
                # Only `other` and the patterns waiting for the symbol survive a step: without an asked
                # pattern among them, everything below is left anyway.
                symbols = {n for n, live in waiting.items() if any(asked[u] for u, _s in live)}
            symbols.discard("")
            # Every other pattern dies on the closing '': the root's closing step (the path "/") would
            # otherwise step every pattern of the walk, each a step of its own, for one word.
            closing = [(u, s) for u, s in states if _survives_closing(pats[u], s)]
            found_split = index[states] = (waiting, other, sorted(symbols), closing)
        return found_split

    def advance(
        states: Product, division: Split, symbol: str
    ) -> tuple[Product, tuple[int, ...], tuple[int, ...]] | None:
        """The product state after ``symbol``, the patterns accepting there (in order) and its shape (the
        live patterns' parts, in order); ``None`` when no word at or below it is asked about (it is left,
        with everything below it). ``division`` is ``split(states)``, passed in: a product state is a
        tuple, which does not keep its hash, and the root's holds every pattern, so looking it up again
        per symbol cost more than the step."""
        waiting, other, _symbols, closing = division
        if symbol:
            extra = waiting.get(symbol)
            # In index order, as a product state lists them: the two lists are each in order.
            live = sorted([*other, *extra]) if extra and other else extra or other
        else:
            live = closing
        budget.spend(len(live) // 2 + 1)
        stepped: list[tuple[int, frozenset[int]]] = []
        accepting: list[int] = []
        shape: list[int] = []
        kind = 0
        for u, s in live:  # step(), inlined: this loop is most of the walk's time
            hit = steps.get((u, s, symbol if symbol in told[u] else fresh))
            if hit is None:
                hit = step(u, s, symbol)
            t, accepts, number = hit
            if t:
                stepped.append((u, t))
                shape.append(number)
                kind |= kinds[u]
                if accepts:
                    accepting.append(u)
        if prune and kind != 3:
            return None
        return tuple(stepped), tuple(accepting), tuple(shape)

    # A class's key: what accepts its words (the named patterns and whether a blind one does, with
    # ``blind``), and the live asked patterns for every_state; each an ascending tuple of indexes.
    def key_of(accepted: tuple[int, ...], nxt: Product) -> object:
        if every_state:
            return (accepted, tuple([u for u, _t in nxt if asked[u]]))
        if blind:
            mine = tuple([u for u in accepted if named[u]])
            return (mine, len(mine) != len(accepted))
        return accepted

    def goes_deeper(nxt: Product) -> bool:
        if not every_state:
            return True
        budget.spend(len(nxt) // 2 + 1)
        return any(inside[u] and _greedy(pats[u], t) for u, t in nxt)

    Emit = Callable[[tuple[str, ...], tuple[int, ...], Product], None]

    def below(prefix: tuple[str, ...], states: Product, emit: Emit) -> None:
        """Every word below ``prefix`` (whose product state is ``states``), each emitted with what accepts
        it and its product state."""
        seen: set[Product] = {states}
        stack = [(prefix, states)]
        while stack:
            word, states = stack.pop()
            # The closing empty segment (a trailing slash) first, then each symbol, in sorted order:
            # representatives never depend on hash order.
            division = split(states)
            for symbol in ("", *division[2]):
                stepped = advance(states, division, symbol)
                if stepped is None:
                    continue
                nxt, accepted, _shape = stepped
                path = (*word, symbol)
                emit(path, accepted, nxt)
                if symbol and nxt and nxt not in seen:
                    seen.add(nxt)
                    stack.append((path, nxt))

    # Below the first segment, many APIs repeat one shape (/svc1/items/{id}, /svc2/items/{id}...): the
    # walk below a first segment depends only on the live patterns' remaining tokens and NFA states (and
    # whether they are asked about, within, named), not on which patterns they are. So it is walked once
    # per shape and its classes are carried over to every first segment of that shape, pattern by
    # pattern. A shape keeps one entry per class it can give (the positions of its accepting named
    # patterns, whether a blind one accepts, and the positions of its live asked ones for every_state):
    # a later word with the same positions would be carried over to the same class as the first, which
    # keeps its word. Each entry: its suffix, the positions of every accepting pattern, of the accepting
    # named ones, of the live asked ones, whether a blind one accepts, and the deeper hint.
    Entry = tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], bool, bool]
    # Per shape: its entries and what carrying them over costs.
    shapes: dict[tuple[int, ...], tuple[list[Entry], int]] = {}
    # The classes of a shape are a function of which patterns stand at its named positions (every
    # position, without ``blind``): a first segment that repeats both carries over nothing new.
    carried_over: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()

    def first_segment(prefix: tuple[str, ...], states: Product, shape: tuple[int, ...]) -> None:
        budget.spend(len(states) // 2 + 1)  # its shape
        standing = (shape, tuple([u for u, _t in states if named[u]]))
        if standing in carried_over:
            return
        carried_over.add(standing)
        carried = shapes.get(shape)
        if carried is None:
            position = {u: k for k, (u, _t) in enumerate(states)}
            entries: list[Entry] = []
            kept: set[tuple[tuple[int, ...], bool, tuple[int, ...]]] = set()

            def keep(word: tuple[str, ...], accepted: tuple[int, ...], nxt: Product) -> None:
                where = tuple([position[u] for u in accepted])  # ascending, as positions follow indexes
                mine = tuple([k for k in where if named[states[k][0]]]) if blind else where
                routed = len(mine) != len(where)
                live = tuple([position[u] for u, _t in nxt if asked[u]]) if every_state else ()
                if (mine, routed, live) not in kept:
                    kept.add((mine, routed, live))
                    entries.append((word[len(prefix) :], where, mine, live, routed, goes_deeper(nxt)))

            below(prefix, states, keep)
            cost = sum(len(e[1]) + len(e[3]) for e in entries) // 4 + len(entries) + 1
            carried = shapes[shape] = (entries, cost)
        entries, cost = carried
        order = [u for u, _t in states]
        # Carried over: each entry's class renamed, pattern by pattern (ascending positions give
        # ascending indexes); the word is built only for a class not recorded yet.
        budget.spend(cost)
        for suffix, where, mine, live, routed, deeper in entries:
            accepted = tuple([order[k] for k in where])
            if every_state:
                key: object = (accepted, tuple([order[k] for k in live]))
            elif blind:
                key = (tuple([order[k] for k in mine]), routed)
            else:
                key = accepted
            if key not in found:
                found[key] = ((*prefix, *suffix), accepted, deeper)

    # The root: its closing empty segment is the root "/" itself. A first segment whose product state
    # another already reached gives the same shape, whose classes are then all recorded already.
    root = split(start)
    waiting, _other, symbols, _closing = root
    # With blind patterns: a first segment that only blind patterns wait for gives the same classes, at it
    # and below it, as another whose blind patterns step to the same parts. The patterns that take any
    # first segment (`other`: at the root each stands before a wildcard) step alike on every non-empty
    # segment, so the named patterns are the same and in the same states, and blind ones count only
    # through whether one accepts, which their parts decide. So the 58 service segments under an
    # admin's `/{proxy+}` are stepped in full once; the others cost their own patterns' steps (memoized)
    # and a sorted tuple.
    blind_parts: set[tuple[int, ...]] = set()
    for symbol in ("", *symbols):
        if blind and symbol:
            extra = waiting.get(symbol, [])
            if not any(named[u] for u, _s in extra):
                budget.spend(len(extra) // 2 + 1)
                parts_of_blind = sorted([step(u, s, symbol)[2] for u, s in extra])
                signature = tuple([number for number in parts_of_blind if number >= 0])
                if signature in blind_parts:
                    continue
                blind_parts.add(signature)
        stepped = advance(start, root, symbol)
        if stepped is None:
            continue
        nxt, accepted, shape = stepped
        key = key_of(accepted, nxt)
        if key not in found:
            found[key] = ((symbol,), accepted, goes_deeper(nxt))
        if symbol and nxt:
            first_segment((symbol,), nxt, shape)
    # Every copy of an accepting pattern accepts.
    return [
        Representative(word, frozenset([i for u in accepted for i in copies[u]]), deeper)
        for word, accepted, deeper in found.values()
    ]
