"""glob_match against a regular-expression reference: IAM's '*' (any run, '/' included) and '?' (one
character), with texts that hold the wildcard characters themselves."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.iam import glob_match

ALPHABET = st.sampled_from(["a", "b", "/", "*", "?", ":", "%"])


def reference(pattern: str, text: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def test_a_literal_star_in_the_text_is_matched_by_the_wildcard() -> None:
    assert glob_match("*", "*:")
    assert glob_match("a*", "a*b")
    assert glob_match("*b", "**b")
    assert not glob_match("a*c", "a*b")


@settings(max_examples=1500)
@given(st.text(ALPHABET, max_size=8), st.text(ALPHABET, max_size=10))
def test_glob_match_agrees_with_the_reference(pattern: str, text: str) -> None:
    assert glob_match(pattern, text) == reference(pattern, text)
