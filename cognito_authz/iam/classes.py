"""Classes of requests: finitely many words that stand for every request (soundness part).

Given patterns (routes and globs, :mod:`cognito_authz.iam.patterns`), two words that every pattern
accepts or rejects alike are alike for anything that depends on a segment only through these patterns
(step 2 of the argument in ``docs/architecture.md``). :func:`walk_classes` runs all patterns side by side as
one lazily built automaton and returns one representative word per distinct set of accepting patterns
reachable, over every word of non-empty segments optionally closed by one empty segment (a trailing
slash). A segment equal to no literal of any pattern behaves like every other such segment, so one fresh
segment stands for all of them.

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


def _expects(pattern: SegmentPattern, states: frozenset[int]) -> set[str]:
    out: set[str] = set()
    for state in states:
        if state >= 0 and not state % 2 and state // 2 < len(pattern.tokens):
            token = pattern.tokens[state // 2]
            if isinstance(token, str):
                out.add(token)
    return out


def _needs(pattern: SegmentPattern, states: frozenset[int]) -> frozenset[str] | None:
    """The literals the NFA states wait for, when any other non-empty segment kills every one of them;
    ``None`` when a wildcard can take any segment (a state inside ``MANY`` or before a wildcard). A state
    past the last token, or closed by a trailing slash, dies on every non-empty segment."""
    tokens = pattern.tokens
    out: set[str] = set()
    for state in states:
        if state < 0:
            continue
        position, inside = divmod(state, 2)
        if inside:
            return None
        if position < len(tokens):
            token = tokens[position]
            if not isinstance(token, str):
                return None
            if token:
                out.add(token)
    return frozenset(out)


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
) -> list[Representative]:
    """One representative per reachable set of accepting patterns (see the module docstring).

    A product state lists only the live patterns, as ``(index, NFA states)`` pairs; single-pattern
    steps are memoized, since the same pattern state recurs in many product states.

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
    """
    told = [p.literals() | {""} for p in patterns]  # the symbols pattern i tells apart (see step())
    literals = frozenset().union(*told) - {""}
    count = len(patterns)
    asked = [relevant is None] * count
    for i in relevant or ():
        asked[i] = True
    inside = [within is None] * count
    for i in within or ():
        inside[i] = True
    # Per pattern, 1 if asked about plus 2 if within: a stepped product state is kept when these,
    # or-ed over its live patterns, give 3 (both an asked and a within pattern are live).
    kinds = [asked[i] + 2 * inside[i] for i in range(count)]
    fresh = fresh_segment(literals)
    ends = [2 * len(p.tokens) for p in patterns]  # the NFA state of a pattern that has accepted
    # Single-pattern steps are memoized by what they depend on, so that one computed step serves many:
    # the pattern itself, not its index (a table route and the policy route of the same text are equal
    # patterns), and the symbol only through its equality with the pattern's literals (and with the
    # closing ''), as _step reads it. Any other segment steps like `fresh`: a wildcard pattern (the
    # document's `*`, an `ANY /{proxy+}`) is stepped once, not once per first segment of the table.
    same: dict[SegmentPattern, int] = {}
    ids = [same.setdefault(p, len(same)) for p in patterns]
    steps: dict[tuple[int, frozenset[int], str], frozenset[int]] = {}

    def step(i: int, states: frozenset[int], symbol: str) -> frozenset[int]:
        key = (ids[i], states, symbol if symbol in told[i] else fresh)
        found = steps.get(key)
        if found is None:
            # One unit per four single-pattern steps computed (about 0.3 us each; the memo keeps the
            # count, and so the memory, within what was charged).
            if not len(steps) % 4:
                budget.spend(1)
            found = steps[key] = _step(patterns[i], states, symbol)
        return found

    Product = tuple[tuple[int, frozenset[int]], ...]
    # Every pattern before its first token: state 0 is even, so its closure is itself.
    start: Product = tuple([(i, _START) for i in range(count)])
    budget.spend(len(patterns) + 1)
    found: dict[object, Representative] = {}
    # Per product state: live patterns that wait for one literal (by that literal), the others, and the
    # symbols worth stepping. A pattern waiting for "orders" dies on any other segment, so it is never
    # stepped for one; a symbol that can only keep patterns nobody asked about is not stepped at all.
    Live = list[tuple[int, frozenset[int]]]
    index: dict[Product, tuple[dict[str, Live], Live, list[str]]] = {}
    prune = relevant is not None or within is not None

    def split(states: Product) -> tuple[dict[str, Live], Live, list[str]]:
        found_split = index.get(states)
        if found_split is None:
            # The split, then the symbols: each live pattern's next literals.
            budget.spend(len(states) // 8 + len(states) // 4 + 2)
            waiting: dict[str, Live] = {}
            other: Live = []
            for i, s in states:
                needs = _needs(patterns[i], s)
                if needs is None:
                    other.append((i, s))
                for need in needs or ():
                    waiting.setdefault(need, []).append((i, s))
            if not prune or any(asked[i] for i, _s in other):
                symbols = {fresh, *waiting}
                for i, s in other:
                    symbols |= _expects(patterns[i], s)
            else:
                # Only `other` and the patterns waiting for the symbol survive a step: without an asked
                # pattern among them, everything below is left anyway.
                symbols = {n for n, live in waiting.items() if any(asked[i] for i, _s in live)}
            symbols.discard("")
            found_split = index[states] = (waiting, other, sorted(symbols))
        return found_split

    def advance(states: Product, symbol: str) -> tuple[Product, frozenset[int]] | None:
        """The product state after ``symbol`` and the patterns accepting there; ``None`` when no word at
        or below it is asked about (it is left, with everything below it)."""
        waiting, other, _symbols = split(states)
        live = [*other, *waiting.get(symbol, ())] if symbol else states
        budget.spend(len(live) // 2 + 1)
        stepped: list[tuple[int, frozenset[int]]] = []
        accepting: list[int] = []
        kind = 0
        for i, s in live:  # step(), inlined: this loop is most of the walk's time
            key = (ids[i], s, symbol if symbol in told[i] else fresh)
            t = steps.get(key)
            if t is None:
                t = step(i, s, symbol)
            if t:
                stepped.append((i, t))
                kind |= kinds[i]
                if ends[i] in t or _FINAL in t:
                    accepting.append(i)
        if prune and kind != 3:
            return None
        stepped.sort()  # by index alone: each pattern appears once
        return tuple(stepped), frozenset(accepting)

    def record(word: tuple[str, ...], accepted: frozenset[int], nxt: Product, deeper: bool) -> None:
        key = (accepted, frozenset(i for i, _t in nxt if asked[i])) if every_state else accepted
        if key not in found:
            found[key] = Representative(word, accepted, deeper)

    def goes_deeper(nxt: Product) -> bool:
        if not every_state:
            return True
        budget.spend(len(nxt) // 2 + 1)
        return any(inside[i] and _greedy(patterns[i], t) for i, t in nxt)

    Emit = Callable[[tuple[str, ...], frozenset[int], Product], None]

    def below(prefix: tuple[str, ...], states: Product, emit: Emit) -> None:
        """Every word below ``prefix`` (whose product state is ``states``), each emitted with what accepts
        it and its product state."""
        seen: set[Product] = {states}
        stack = [(prefix, states)]
        while stack:
            word, states = stack.pop()
            # The closing empty segment (a trailing slash) first, then each symbol, in sorted order:
            # representatives never depend on hash order.
            for symbol in ("", *split(states)[2]):
                stepped = advance(states, symbol)
                if stepped is None:
                    continue
                nxt, accepted = stepped
                path = (*word, symbol)
                emit(path, accepted, nxt)
                if symbol and nxt and nxt not in seen:
                    seen.add(nxt)
                    stack.append((path, nxt))

    # Below the first segment, many APIs repeat one shape (/svc1/items/{id}, /svc2/items/{id}...): the
    # walk below a first segment depends only on the live patterns' remaining tokens and NFA states (and
    # whether they are asked about), not on which patterns they are. So it is walked once per shape and
    # its words and classes are carried over to every first segment of that shape, pattern by pattern.
    Entry = tuple[tuple[str, ...], tuple[int, ...], tuple[tuple[int, frozenset[int]], ...], bool]
    # Per shape: its entries and what carrying them over costs.
    shapes: dict[tuple[int, ...], tuple[list[Entry], int]] = {}
    # A live pattern's part of a shape, interned as a number: equal parts get equal numbers, so a shape
    # is a tuple of small ints (hashed and compared cheaply). Memoized per pattern and NFA states, since
    # a wildcard pattern is live, in the same states, below every first segment.
    parts: dict[tuple[object, ...], int] = {}
    part_of: dict[tuple[int, frozenset[int]], int] = {}

    def part(i: int, t: frozenset[int]) -> int:
        number = part_of.get((i, t))
        if number is None:
            value = (_remaining(patterns[i], t), asked[i], inside[i])
            number = part_of[i, t] = parts.setdefault(value, len(parts))
        return number

    def first_segment(prefix: tuple[str, ...], states: Product) -> None:
        budget.spend(len(states) // 2 + 1)  # its shape
        shape = tuple([part(i, t) for i, t in states])
        carried = shapes.get(shape)
        if carried is None:
            position = {i: k for k, (i, _t) in enumerate(states)}
            entries: list[Entry] = []

            def keep(word: tuple[str, ...], accepted: frozenset[int], nxt: Product) -> None:
                entries.append(
                    (
                        word[len(prefix) :],
                        tuple(position[i] for i in accepted),
                        tuple((position[i], t) for i, t in nxt) if every_state else (),
                        goes_deeper(nxt),
                    )
                )

            below(prefix, states, keep)
            cost = sum(len(e[1]) + len(e[2]) for e in entries) // 4 + len(entries) + 1
            carried = shapes[shape] = (entries, cost)
        entries, cost = carried
        order = [i for i, _t in states]
        # Carried over: each entry's classes and product state renamed, pattern by pattern.
        budget.spend(cost)
        for suffix, accepted, nxt, deeper in entries:
            record(
                (*prefix, *suffix),
                frozenset([order[k] for k in accepted]),
                tuple([(order[k], t) for k, t in nxt]) if nxt else (),
                deeper,
            )

    firsts: set[Product] = set()

    def from_root(word: tuple[str, ...], accepted: frozenset[int], nxt: Product) -> None:
        record(word, accepted, nxt, goes_deeper(nxt))
        if word != ("",) and nxt and nxt not in firsts:
            firsts.add(nxt)
            first_segment(word, nxt)

    # The root: its closing empty segment is the root "/" itself.
    for symbol in ("", *split(start)[2]):
        stepped = advance(start, symbol)
        if stepped is not None:
            from_root((symbol,), stepped[1], stepped[0])
    return list(found.values())
