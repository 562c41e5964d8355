"""The choice's fast parts against plain references: the linear-time glob regex and the lazy greedy cover.

Neither is trusted for soundness (the check has the last word), but a wrong match or a different cover
would silently cost exactness, and the budget's figures assume these are what they replaced.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.iam.choice import _cover, _glob_regex
from cognito_authz.iam.classes import Budget
from cognito_authz.iam.patterns import MANY, PLUS, Token

SEGMENTS = st.sampled_from(["a", "b", "ab", "x0", ""])
TOKENS = st.lists(st.sampled_from([MANY, PLUS, "a", "b", "ab"]), min_size=1, max_size=6)


def backtracking(tokens: tuple[Token, ...]) -> re.Pattern[str]:
    # The obvious translation ('*' is '.*', '?' is '.'), which the builder used before: a reference.
    text = "/" + "/".join("*" if t is MANY else "?*" if t is PLUS else str(t) for t in tokens)
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text), re.S)


@settings(max_examples=3000)
@given(TOKENS, st.lists(SEGMENTS, min_size=1, max_size=8))
def test_the_linear_glob_regex_matches_as_the_backtracking_one(tokens: list[Token], word: list[str]) -> None:
    path = "/" + "/".join(word)
    expected = backtracking(tuple(tokens)).fullmatch(path) is not None
    assert (_glob_regex(tuple(tokens)).fullmatch(path) is not None) == expected, (tokens, path)


def test_a_failing_match_with_many_wildcards_is_not_a_search() -> None:
    # Six '*' over a long path that fails at the very end: the backtracking form tries every split.
    tokens = (MANY, "a", MANY, "a", MANY, "a", MANY, "a", MANY, "a", MANY, "zz")
    path = "/" + "/".join(["a"] * 60)
    assert _glob_regex(tokens).fullmatch(path) is None
    assert _glob_regex(tokens).fullmatch(path + "/zz") is not None


def eager(targets: set[int], options: dict[tuple[Token, ...], set[int]]) -> list[tuple[Token, ...]]:
    # The cover as it was written before the heap: recompute every option's gain on each pick.
    chosen: list[tuple[Token, ...]] = []
    left = set(targets)
    while left:
        best = max(options, key=lambda g: (len(options[g] & left), -len(g)), default=None)
        if best is None or not options[best] & left:
            break
        chosen.append(best)
        left -= options[best]
    return chosen


@settings(max_examples=1500)
@given(
    st.dictionaries(
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4).map(tuple),
        st.sets(st.integers(0, 15), max_size=8),
        max_size=12,
    ),
    st.sets(st.integers(0, 15)),
)
def test_the_lazy_cover_picks_what_the_eager_one_picks(
    options: dict[tuple[Token, ...], set[int]], targets: set[int]
) -> None:
    assert _cover(targets, options, Budget(10**6)) == eager(targets, options)
