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
    ["authorization", "Authorization", "AUTHORIZATION", "aUtHoRiZaTiOn", "host", "x-token", "X-Token"]
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
