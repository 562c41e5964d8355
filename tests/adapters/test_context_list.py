"""``context_list`` writes exactly what ``json.dumps`` writes (the oracle), on any list of names.

The authorizer writes group, scope and rule lists into its context on every invocation, so
``context_list`` builds the JSON text of a list of strings itself instead of calling ``json.dumps`` with
options (which constructs a new encoder each time). Handlers read the text back with ``json.loads``
(``read_context_list``): the two must agree character for character, escapes and non-ASCII included.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.adapters.common import context_list, read_context_list

# Every code point, surrogates and control characters included: the escapes are what could differ.
_ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=()), max_size=12)


def _oracle(values: list[Any]) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


@given(st.lists(_ANY_TEXT, max_size=8))
@settings(max_examples=500, deadline=None)
def test_list_of_strings_is_written_as_json_dumps_writes_it(values: list[str]) -> None:
    assert context_list(values) == _oracle(values)
    assert context_list(tuple(values)) == _oracle(values)  # principals hold tuples


@given(st.lists(st.one_of(_ANY_TEXT, st.integers(), st.booleans(), st.none()), max_size=6))
@settings(max_examples=200, deadline=None)
def test_other_items_take_the_general_encoder(values: list[Any]) -> None:
    assert context_list(values) == _oracle(values)


def test_names_with_json_metacharacters_read_back_exactly() -> None:
    names = ["reports,admin", 'say "hi"', "back\\slash", "tab\there", "ünïcödé", "[x]", ""]
    text = context_list(names)
    assert json.loads(text) == names
    assert read_context_list(text, "groups") == tuple(name for name in names if name)
