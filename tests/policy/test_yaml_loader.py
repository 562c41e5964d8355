"""The policy loader parses YAML with libyaml (PyYAML's CSafeLoader) for speed: it must read every file
exactly as PyYAML's pure-Python SafeLoader does (the oracle) and refuse what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.errors import PolicyError
from cognito_authz.policy.sources import _load_yaml

_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
#: Bits of YAML that hand-written files hold and safe_dump never writes, with whether a mapping in them
#: repeats a key (the pure SafeLoader keeps the last value; the policy loader refuses the file).
_SNIPPETS = [
    ("a: yes\n", False),
    ("a: [1, 2, {b: c}]\n", False),
    ("a: &x [1]\nb: *x\n", False),
    ("a: 0x1F\nb: 1_000\nc: .inf\n", False),
    ("a: |\n  text\n  more\n", False),
    ("- !!str 1\n- ~\n", False),
    ("a: 'it''s'\nb: \"\\u00e9\"\n", False),
    ("a: b: c\n", False),
    ("a:\n- 1\n - 2\n", False),
    ("{a: 1, a: 2}\n", True),
    ("a: 1\na: 2\n", True),
    ("!!python/object:os.system {}\n", False),
    ("a: !!python/tuple [1, 2]\n", False),
    ("a: !!binary aGk=\n", False),
    ("a: [1, 2\n", False),
    ("\t- 1\n", False),
]


def _oracle(text: str) -> tuple[str, Any]:
    class Pure(yaml.SafeLoader):
        pass

    try:
        data = yaml.load(text, Loader=Pure)
    except yaml.YAMLError:
        return ("error", None)
    return ("ok", data)


def _ours(text: str) -> tuple[str, Any]:
    try:
        return ("ok", _load_yaml(text, "p.yaml"))
    except PolicyError as exc:
        return ("error", None) if exc.reason == "policy_syntax" else ("other error", exc.reason)


def test_pyyaml_here_has_libyaml() -> None:
    # Without it the loader falls back to the pure parser (correct, slower); CI must test the fast one.
    assert yaml.__with_libyaml__


@settings(max_examples=300, deadline=None)
@given(_documents)
def test_dumped_documents_read_back_as_the_pure_loader_reads_them(document: Any) -> None:
    text = yaml.safe_dump(document)
    assert _ours(text) == _oracle(text) == ("ok", document)


@pytest.mark.parametrize(("text", "repeats_a_key"), _SNIPPETS)
def test_hand_written_yaml_reads_as_the_pure_loader_reads_it(text: str, repeats_a_key: bool) -> None:
    expected = ("error", None) if repeats_a_key else _oracle(text)
    assert _ours(text) == expected
