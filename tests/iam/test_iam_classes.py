"""The class walk against a direct matcher: every class of the words asked about gets a representative.

``walk_classes`` is the soundness part's enumeration: the check evaluates ``decide`` and IAM on one word
per class it returns, so a class it misses (or merges with another) is a request nobody checks. Here the
walk is held to :meth:`SegmentPattern.matches` (a plain backtracking match, sharing no code with the
walk's automaton) over every word of up to four segments from a small alphabet, with and without the
``relevant`` and ``within`` narrowing the check uses (``docs/architecture.md``, step 3).
"""

from __future__ import annotations

from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.iam.check import check_document
from cognito_authz.iam.classes import Budget, _step, _survives_closing, walk_classes
from cognito_authz.iam.document import policy_document
from cognito_authz.iam.patterns import MANY, ONE, PLUS, SegmentPattern, Token
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

LITERALS = ("a", "b", "c")
# Words over the literals and one segment equal to none of them, optionally closed by a trailing slash.
WORDS = [
    (*body, *end)
    for length in range(5)
    for body in product((*LITERALS, "zz"), repeat=length)
    for end in ((), ("",))
    if body or end
]


@st.composite
def patterns(draw: st.DrawFn) -> SegmentPattern:
    routed = draw(st.booleans())
    wild: list[Token] = [ONE, MANY] if routed else [MANY, PLUS]
    tokens = draw(st.lists(st.sampled_from([*LITERALS, *LITERALS, *wild]), min_size=0, max_size=3))
    if routed:
        # A route's greedy parameter is its last token.
        tokens = [t for t in tokens if t is not MANY] + ([MANY] if MANY in tokens else [])
    elif draw(st.booleans()):
        tokens.append("")  # a glob naming the trailing slash
    return SegmentPattern(tuple(tokens), routed=routed)


def accepted(pats: list[SegmentPattern], word: tuple[str, ...]) -> frozenset[int]:
    return frozenset(i for i, p in enumerate(pats) if p.matches(word))


@settings(max_examples=300, deadline=None)
@given(st.lists(patterns(), min_size=1, max_size=6), st.data())
def test_every_class_asked_about_has_a_representative(
    pats: list[SegmentPattern], data: st.DataObject
) -> None:
    indexes = range(len(pats))
    relevant = data.draw(st.none() | st.lists(st.sampled_from(indexes), unique=True))
    within = data.draw(st.none() | st.lists(st.sampled_from(indexes), unique=True))
    reps = walk_classes(pats, Budget(10**7), relevant, within)
    found = {rep.accepted for rep in reps}
    for rep in reps:
        # Each representative is what it says: the walk's automaton agrees with the direct match.
        assert rep.accepted == accepted(pats, rep.word), rep
    asked = set(indexes if relevant is None else relevant)
    inside = set(indexes if within is None else within)
    for word in WORDS:
        classes = accepted(pats, word)
        # Unnarrowed: every class. Narrowed: every class an asked pattern and a table pattern accept.
        if (relevant is None and within is None) or (classes & asked and classes & inside):
            assert classes in found, (word, classes)


@settings(max_examples=300, deadline=None)
@given(st.lists(patterns(), min_size=1, max_size=6), st.data())
def test_blind_patterns_are_told_apart_only_as_a_whole(
    pats: list[SegmentPattern], data: st.DataObject
) -> None:
    # The check's walk: the table's patterns are blind (a class says whether one of them takes its words,
    # not which). Every such coarser class of every word asked about still gets a representative.
    indexes = range(len(pats))
    relevant = data.draw(st.none() | st.lists(st.sampled_from(indexes), unique=True))
    within = data.draw(st.none() | st.lists(st.sampled_from(indexes), unique=True))
    blind = set(data.draw(st.lists(st.sampled_from(indexes), unique=True)))

    def coarse(classes: frozenset[int]) -> tuple[frozenset[int], bool]:
        return classes - blind, bool(classes & blind)

    reps = walk_classes(pats, Budget(10**7), relevant, within, blind=blind)
    for rep in reps:
        assert rep.accepted == accepted(pats, rep.word), rep
    found = {coarse(rep.accepted) for rep in reps}
    asked = set(indexes if relevant is None else relevant)
    inside = set(indexes if within is None else within)
    for word in WORDS:
        classes = accepted(pats, word)
        if (relevant is None and within is None) or (classes & asked and classes & inside):
            assert coarse(classes) in found, (word, classes)


def test_first_segments_that_named_patterns_wait_for_are_never_grouped() -> None:
    # /a/b and /c/b step the two named routes to equal parts; only blind patterns may be grouped, or the
    # class of /c/b (the second route) would be lost.
    pats = [
        SegmentPattern(("a", "b"), routed=True),
        SegmentPattern(("c", "b"), routed=True),
        SegmentPattern((ONE, "b"), routed=True),
        SegmentPattern(("a", ONE), routed=True),
        SegmentPattern(("c", ONE), routed=True),
    ]
    reps = walk_classes(pats, Budget(10**6), blind=[2, 3, 4])
    found = {(rep.accepted - {2, 3, 4}, bool(rep.accepted & {2, 3, 4})) for rep in reps}
    assert (frozenset({0}), True) in found
    assert (frozenset({1}), True) in found
    # The blind routes under a and c are grouped: /a/x0 and /c/x0 are one class, /a/b's and /c/b's two.
    assert len(reps) == len(found)


def test_first_segments_are_grouped_only_when_their_blind_patterns_step_alike() -> None:
    # Under a, no blind route takes a word of three segments; under c one does: /c/x0/x0 is a class of
    # its own, which grouping c with a (both waited for by blind routes only) would lose.
    pats = [
        SegmentPattern(("a", "b"), routed=True),
        SegmentPattern(("c", ONE, ONE), routed=True),
        SegmentPattern((ONE, ONE, ONE), routed=True),
    ]
    reps = walk_classes(pats, Budget(10**6), blind=[0, 1])
    found = {(rep.accepted - {0, 1}, bool(rep.accepted & {0, 1})) for rep in reps}
    assert (frozenset({2}), True) in found
    assert (frozenset({2}), False) in found


@settings(max_examples=1000, deadline=None)
@given(patterns(), st.data())
def test_the_closing_segment_is_stepped_only_where_a_state_survives_it(
    pattern: SegmentPattern, data: st.DataObject
) -> None:
    # The walk steps the closing '' (a trailing slash, the root "/") only for the patterns
    # _survives_closing names: it must name every one that _step keeps alive.
    states = frozenset(data.draw(st.sets(st.integers(-3, 2 * len(pattern.tokens) + 1), max_size=4)))
    assert _survives_closing(pattern, states) == bool(_step(pattern, states, "")), (pattern, states)


@st.composite
def repeated_shapes(draw: st.DrawFn) -> list[SegmentPattern]:
    """The same suffixes under several first segments, each copy routed or raw at random: first
    segments whose shapes agree or differ only in how a pattern matches, which the walk must tell."""
    suffixes = draw(
        st.lists(st.lists(st.sampled_from(["b", "c", ONE, MANY]), max_size=2), min_size=1, max_size=3)
    )
    out: list[SegmentPattern] = []
    for head in ("a", "b", "c"):
        for suffix in suffixes:
            routed = draw(st.booleans())
            tokens = [t if routed or t is not ONE else PLUS for t in suffix]
            if routed:
                tokens = [t for t in tokens if t is not MANY] + ([MANY] if MANY in tokens else [])
            out.append(SegmentPattern((head, *tokens), routed=routed))
    return out


@settings(max_examples=300, deadline=None)
@given(repeated_shapes(), st.data())
def test_first_segments_of_one_shape_share_a_walk_only_when_alike(
    pats: list[SegmentPattern], data: st.DataObject
) -> None:
    # The walk below a first segment is done once per shape and carried over: a shape that forgot how a
    # pattern matches or whether it is asked about would carry over the wrong classes.
    indexes = range(len(pats))
    relevant = data.draw(st.lists(st.sampled_from(indexes), unique=True, min_size=1))
    for asked in (None, relevant):
        reps = walk_classes(pats, Budget(10**7), asked)
        found = {rep.accepted for rep in reps}
        for rep in reps:
            assert rep.accepted == accepted(pats, rep.word), rep
        for word in WORDS:
            classes = accepted(pats, word)
            if asked is None or classes & set(asked):
                assert classes in found, (word, classes)


def test_the_walk_tells_apart_words_only_a_deeper_pattern_separates() -> None:
    # /a/b and /a/zz are one class for the route, two for the glob: merging them would hide /a/b.
    pats = [SegmentPattern(("a", ONE), routed=True), SegmentPattern(("a", "b"), routed=False)]
    found = {rep.accepted for rep in walk_classes(pats, Budget(10**6))}
    assert {frozenset({0}), frozenset({0, 1})} <= found


# --- the check walks what it must: what the document allows, and what decide may allow -----------------

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"
TABLE_POLICY = Policy.from_dict(
    {
        "version": 1,
        "api": ["GET /a/{x}", "GET /b/{x}", "GET /c/{x}"],
        "rules": [
            {"id": "a", "routes": ["GET /a/{x}"]},
            {"id": "c-for-staff", "routes": ["GET /c/{x}"], "when": {"groups": ["staff"]}},
        ],
    }
)


def verdict(groups: list[str], allows: list[str]) -> tuple[bool, bool, str]:
    caller = Principal.from_claims({"sub": "u", "cognito:groups": groups})
    statements = [("Allow", [PREFIX + r for r in allows])]
    document = policy_document(statements)
    found = check_document(TABLE_POLICY, caller, document, PREFIX, Budget(10**6))
    return found.sound, found.exact, found.example


def test_an_allow_outside_every_rule_is_still_walked() -> None:
    # No rule may allow anything under /b: only the Allow itself leads the walk there.
    sound, _exact, example = verdict([], ["GET/a/*", "GET/b/*"])
    assert not sound
    assert example.startswith("GET /b/"), example


def test_a_rule_the_caller_may_fire_is_walked_for_exactness() -> None:
    # The staff rule applies: a document without /c is sound but not exact.
    assert verdict(["staff"], ["GET/a/?*"])[:2] == (True, False)
    # Without the group the rule cannot apply: the same document is exact.
    assert verdict([], ["GET/a/?*"])[:2] == (True, True)


def test_a_deny_rule_still_tells_classes_apart_when_no_allow_rule_may_apply() -> None:
    # The check leaves out the routes of allow rules that cannot apply (the staff rule, for a caller
    # without the group), never a deny rule's: GET/a/* allows /a/admin, which the deny refuses.
    policy = Policy.from_dict(
        {
            "version": 1,
            "api": ["GET /a/{x}"],
            "rules": [
                {"id": "a", "routes": ["GET /a/{x}"]},
                {"id": "staff", "routes": ["GET /a/{x}"], "when": {"groups": ["staff"]}},
                {"id": "no-admin", "effect": "deny", "routes": ["GET /a/admin"]},
            ],
        }
    )
    caller = Principal.from_claims({"sub": "u"})
    document = policy_document([("Allow", [PREFIX + "GET/a/*"])])
    found = check_document(policy, caller, document, PREFIX, Budget(10**6))
    assert not found.sound
    assert found.example == "GET /a/admin", found.example


GREEDY_TABLE = Policy.from_dict(
    {"version": 1, "api": ["ANY /{proxy+}"], "rules": [{"id": "a", "routes": ["GET /a/{x}"]}]}
)


def test_a_table_route_that_takes_any_first_segment_keeps_deeper_words_routable() -> None:
    # Every path is routable through ANY /{proxy+}: GET/a/* also allows /a/x/y, which decide denies.
    # The walk is asked about words starting with "a" only; the table's greedy route must still be
    # handed to it, or /a/x/y would look unroutable and go unchecked.
    caller = Principal.from_claims({"sub": "u"})
    document = policy_document([("Allow", [PREFIX + "GET/a/*"])])
    found = check_document(GREEDY_TABLE, caller, document, PREFIX, Budget(10**6))
    assert not found.sound
    assert found.example.startswith("GET /a/"), found.example
