"""The hand-written policy validator (cold-start path) against the pydantic schema (the authority).

``parse_document`` accepts a document through the fast path only when the schema would accept it too,
with an equal result; everything else goes to the schema, which decides and words the error. These
properties generate near-valid documents (valid ones, and ones with a single typo, wrong type, empty
list, unknown key or bad route) and hold the two paths to that contract. A last test checks that
loading a valid policy file imports no pydantic at all.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cognito_authz.errors import PolicyError
from cognito_authz.policy import _schema
from cognito_authz.policy.parse import Unsure, fast_document, parse_document

NAMES = st.sampled_from(["admin", "support", "orders/read", "a", "", "x y"])
WEIRD = st.sampled_from([None, 0, 1, True, False, 1.5, "", [], {}, (), "GET /x", ["GET /x"], [""], [1]])
ROUTES = st.sampled_from(
    ["GET /orders", "GET /orders/{orderId}", "ANY /{proxy+}", "$connect", "get /x", "GET /{}", "/x", ""]
)
CLAIM_VALUES = st.one_of(
    st.sampled_from(["acme", "{orderId}", "{proxy}", "*", "", True, False, 0, 7]),
    st.lists(st.sampled_from(["acme", "globex", "{orderId}", "*", "", 1, True]), max_size=3),
    WEIRD,
)


def _name_list() -> st.SearchStrategy[Any]:
    return st.one_of(NAMES, st.lists(NAMES, max_size=3), st.tuples(NAMES), WEIRD)


@st.composite
def conditions(draw: st.DrawFn) -> Any:
    keys = ["groups", "all_groups", "scopes", "all_scopes", "token_use", "client_id", "claims", "grups"]
    chosen = draw(st.lists(st.sampled_from(keys), max_size=3, unique=True))
    out: dict[str, Any] = {}
    for key in chosen:
        if key == "token_use":
            out[key] = draw(st.one_of(st.sampled_from(["id", "access", "both"]), st.lists(
                st.sampled_from(["id", "access", "x"]), max_size=2), WEIRD))  # fmt: skip
        elif key == "claims":
            out[key] = draw(
                st.one_of(
                    st.dictionaries(
                        st.sampled_from(["sub", "custom:tenant_id", "", "scope"]), CLAIM_VALUES, max_size=2
                    ),
                    WEIRD,
                )
            )
        else:
            out[key] = draw(_name_list())
    return draw(st.one_of(st.just(out), WEIRD))


@st.composite
def rules(draw: st.DrawFn, index: int) -> Any:
    rule: dict[str, Any] = {"id": draw(st.sampled_from([f"r{index}", f"r{index}", "", "dup", 3]))}
    if draw(st.booleans()):
        rule["effect"] = draw(st.sampled_from(["allow", "deny", "Allow", None, 1]))
    rule["routes"] = draw(st.one_of(ROUTES, st.lists(ROUTES, max_size=3), WEIRD))
    for key in ("when", "unless"):
        if draw(st.booleans()):
            rule[key] = draw(conditions())
    if draw(st.integers(0, 9)) == 0:
        rule[draw(st.sampled_from(["description", "unles", "note"]))] = draw(st.sampled_from(["text", 5]))
    if draw(st.integers(0, 9)) == 0:
        rule.pop(draw(st.sampled_from(["id", "routes"])))
    return draw(st.one_of(st.just(rule), st.just(rule), st.just(rule), WEIRD))


@st.composite
def documents(draw: st.DrawFn) -> Any:
    count = draw(st.integers(0, 3))
    doc: dict[str, Any] = {
        "version": draw(st.sampled_from([1, 1, 1, 2, "1", True, 1.0])),
        "rules": draw(st.one_of(st.tuples(*[rules(i) for i in range(count)]).map(list), WEIRD)),
    }
    if draw(st.booleans()):
        doc["groups"] = draw(_name_list())
    if draw(st.booleans()):
        doc["description"] = draw(st.sampled_from(["a policy", None, 3]))
    if draw(st.booleans()):
        # the route table: good and bad routes, empty, a bare string, a mapping, None
        doc["api"] = draw(
            st.one_of(
                st.lists(
                    st.sampled_from(["GET /a", "ANY /{proxy+}", "$connect", "get /a", "/a", 3]), max_size=3
                ),
                st.sampled_from(["GET /a", {"GET": "/a"}, None, ("GET /a",)]),
            )
        )
    if draw(st.integers(0, 9)) == 0:
        doc[draw(st.sampled_from(["rule", "Version"]))] = []
    return doc


GOOD_NAMES = st.sampled_from(["admin", "support", "orders/read", "tenant-a"])
GOOD_NAME_LIST = st.one_of(GOOD_NAMES, st.lists(GOOD_NAMES, min_size=1, max_size=3))
GOOD_CLAIM = st.one_of(
    st.sampled_from(["acme", "*", True, False, 0, 42]),
    st.lists(st.sampled_from(["acme", "globex", 1, True]), min_size=1, max_size=3),
)


@st.composite
def valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Documents the schema accepts (templates only where the routes have the parameter)."""
    rules = []
    for index in range(draw(st.integers(0, 4))):
        routes = draw(st.lists(st.sampled_from(["GET /a", "PUT /a/{id}", "ANY /b/{id}/{rest+}"]), min_size=1))
        templated = all("{id}" in route for route in routes)
        rule: dict[str, Any] = {"id": f"r{index}", "routes": routes[0] if len(routes) == 1 else routes}
        if draw(st.booleans()):
            rule["effect"] = draw(st.sampled_from(["allow", "deny"]))
        for part in ("when", "unless"):
            if draw(st.booleans()):
                condition: dict[str, Any] = {}
                for key in draw(
                    st.lists(st.sampled_from(["groups", "all_scopes", "client_id"]), unique=True)
                ):
                    condition[key] = draw(GOOD_NAME_LIST)
                if draw(st.booleans()):
                    condition["token_use"] = draw(st.sampled_from(["id", ["access"], ["id", "access"]]))
                if draw(st.booleans()):
                    claims = {"custom:tenant_id": draw(GOOD_CLAIM)}
                    if templated and draw(st.booleans()):
                        claims["sub"] = "{id}"
                    condition["claims"] = claims
                if condition or part == "when":
                    rule[part] = condition
        if draw(st.booleans()):
            rule["description"] = "why this rule exists"
        rules.append(rule)
    document: dict[str, Any] = {"version": 1, "rules": rules}
    if draw(st.booleans()):
        document["groups"] = draw(st.lists(GOOD_NAMES, min_size=1, max_size=3))
    if draw(st.booleans()):
        document["description"] = "a policy"
    if draw(st.booleans()):
        document["api"] = draw(
            st.lists(st.sampled_from(["GET /a", "PUT /a/{id}", "ANY /{proxy+}", "$connect"]))
        )
    return document


def _schema_outcome(data: dict[str, Any]) -> Any:
    try:
        return _schema.validate(data, "p.yaml")
    except PolicyError as exc:
        return exc


@given(documents())
def test_fast_path_accepts_only_what_the_schema_accepts_with_an_equal_result(data: dict[str, Any]) -> None:
    expected = _schema_outcome(data)
    try:
        fast = fast_document(data)
    except Unsure:
        return  # the schema decides: nothing to compare
    assert not isinstance(expected, PolicyError), f"fast path accepted what the schema rejects: {expected}"
    assert fast == expected
    assert [type(rule) for rule in fast.rules] == [type(rule) for rule in expected.rules]


@given(valid_documents())
def test_fast_path_takes_every_common_valid_document(data: dict[str, Any]) -> None:
    assert fast_document(data) == _schema.validate(data, "p.yaml")


@given(documents())
def test_parse_document_agrees_with_the_schema_on_every_input(data: dict[str, Any]) -> None:
    expected = _schema_outcome(data)
    try:
        parsed: Any = parse_document(data, "p.yaml")
    except PolicyError as exc:
        parsed = exc
    if isinstance(parsed, PolicyError):
        if isinstance(expected, PolicyError):  # the same first problem, at the same place
            assert (parsed.reason, parsed.rule_id, parsed.field) == (
                expected.reason,
                expected.rule_id,
                expected.field,
            )
        # else a check across fields (duplicate ids, templates) rejected it after the schema: also right
        return
    assert not isinstance(expected, PolicyError)
    assert parsed == expected


def test_schema_decides_what_the_fast_path_is_unsure_of() -> None:
    class Text(str):
        """A str subclass: not a shape parsers produce, so the fast path defers."""

    data = {"version": 1, "rules": [{"id": Text("r"), "routes": ["GET /x"]}]}
    with pytest.raises(Unsure):
        fast_document(data)
    assert parse_document(data, "p.yaml").rules[0].id == "r"


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".toml"])
def test_loading_a_valid_policy_file_imports_no_pydantic(tmp_path: Any, suffix: str) -> None:
    text = {
        ".yaml": "version: 1\nrules:\n  - id: r\n    routes: ['GET /x/{id}']\n"
        "    when: {groups: admin, claims: {sub: '{id}'}}\n",
        ".json": '{"version": 1, "rules": [{"id": "r", "routes": ["GET /x/{id}"], '
        '"when": {"groups": "admin", "claims": {"sub": "{id}"}}}]}',
        ".toml": 'version = 1\n[[rules]]\nid = "r"\nroutes = ["GET /x/{id}"]\n'
        'when = {groups = "admin", claims = {sub = "{id}"}}\n',
    }[suffix]
    path = tmp_path / f"policy{suffix}"
    path.write_text(text)
    script = (
        "import sys\n"
        "from cognito_authz import Policy\n"
        f"policy = Policy.from_file({str(path)!r})\n"
        "assert policy.rules[0].when.groups == ('admin',)\n"
        "print(sorted(m for m in ('pydantic', 'pydantic_core') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
