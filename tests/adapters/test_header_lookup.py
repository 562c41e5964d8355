"""The fast header lookup decides exactly as the plain loop over every header it replaced.

``find_header`` keeps the usual case (one lower-case spelling, as API Gateway's HTTP API sends) in C;
the oracle below is the straightforward per-item loop the adapters used before, kept here only as the
independent reference. Hypothesis draws header maps with case variants of the wanted name, several
spellings at once, list and non-string values and non-string keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.adapters.common import find_header, get_header


def _oracle(headers: Any, name: str, multi: Any) -> tuple[bool, str | None]:
    wanted = name.lower()
    named = False
    values: list[str] = []
    for source in (headers, multi):
        if not isinstance(source, Mapping):
            continue
        for key, value in source.items():
            if not isinstance(key, str) or key.lower() != wanted:
                continue
            named = True
            if isinstance(value, str):
                values.append(value)
            elif isinstance(value, list):
                values.extend(v for v in value if isinstance(v, str))
    distinct = set(values)
    return named, (distinct.pop() if len(distinct) == 1 else None)


_NAMES = st.sampled_from(
    [
        "authorization",
        "Authorization",
        "AUTHORIZATION",
        "aUtHoRiZaTiOn",
        "host",
        "x-token",
        "X-Token",
        "X-TO\u212aEN",  # the Kelvin sign lowers to "k": another spelling of x-token, of the same length
        "author\u0130zation",  # U+0130 lowers to two characters: not a spelling of authorization
        "authorizatio",
        "x-tokens",
    ]
)
# Mostly spellings of the names asked for, so that several of them meet in one map often.
_KEYS = st.one_of(_NAMES, _NAMES, _NAMES, st.text(max_size=6), st.integers(0, 3), st.none())
_VALUES = st.one_of(
    st.sampled_from(["Bearer a", "Bearer b", "x"]),
    st.lists(st.one_of(st.sampled_from(["Bearer a", "Bearer b"]), st.integers()), max_size=3),
    st.integers(),
    st.none(),
)
_SOURCES = st.one_of(st.none(), st.dictionaries(_KEYS, _VALUES, max_size=8), st.just("not a mapping"))


@settings(max_examples=600, deadline=None)
@given(headers=_SOURCES, multi=_SOURCES, name=st.sampled_from(["Authorization", "authorization", "X-Token"]))
def test_find_header_agrees_with_the_per_item_loop(headers: Any, multi: Any, name: str) -> None:
    expected = _oracle(headers, name, multi)
    assert find_header(headers, name, multi) == expected
    assert get_header(headers, name, multi) == expected[1]


def test_the_kelvin_sign_lowers_as_str_lower_says() -> None:
    # str.lower maps U+212A KELVIN SIGN to "k": the fast path and the loop must both see it.
    assert find_header({"\u212aey": "v"}, "key") == (True, "v")
    assert find_header({"\u212aey": "v", "key": "w"}, "key") == (True, None)


def test_two_spellings_with_one_value_are_one_header_and_with_two_are_refused() -> None:
    assert find_header({"authorization": "t", "Authorization": "t"}, "authorization") == (True, "t")
    assert find_header({"authorization": "t", "Authorization": "u"}, "authorization") == (True, None)
    assert find_header({"Authorization": "t"}, "authorization", {"authorization": ["t", "u"]}) == (True, None)
    assert find_header({"host": "h"}, "authorization") == (False, None)


def test_only_one_character_lowers_to_several_and_they_are_not_all_ascii() -> None:
    # find_header counts only the keys as long as an ASCII name: sound because lower() maps every other
    # character to exactly one, and the one that does not (U+0130) gives a non-ASCII character too.
    several = [chr(c) for c in range(0x110000) if len(chr(c).lower()) != 1]
    assert several == ["\u0130"]
    assert not chr(0x130).lower().isascii()


def test_bearer_token_examples() -> None:
    from cognito_authz.adapters.common import bearer_token

    for value, token in [
        ("Bearer abc", "abc"),
        ("Bearer  abc ", "abc"),
        ("Bearer ", "Bearer"),
        ("Bearer    ", "Bearer"),
        (" Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("Basic abc", None),
        ("abc", "abc"),
        ("", None),
        ("Bearer a b", "a b"),
        ("Bearer\tabc", "Bearer\tabc"),
    ]:
        assert bearer_token(value) == token, value


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="Bearb \t\u00a0x.-", max_size=12))
def test_bearer_token_agrees_with_the_plain_steps(value: str) -> None:
    from cognito_authz.adapters.common import bearer_token

    stripped = value.strip()
    scheme, sep, rest = stripped.partition(" ")
    if not stripped:
        expected = None
    elif not sep:
        expected = stripped
    elif scheme.lower() != "bearer":
        expected = None
    else:
        expected = rest.strip() or None
    assert bearer_token(value) == expected
