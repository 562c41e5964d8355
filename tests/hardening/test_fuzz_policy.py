"""Fuzzing the policy loader: only ``PolicyError`` escapes, and whatever loads decides without faulting.

Invariants, over hypothesis-generated inputs (counts in the session tally):

1. ``Policy.from_dict`` on arbitrary JSON-ish documents (and Python values JSON cannot carry: tuples,
   sets, bytes, non-string keys, NaN, deep nesting) and on structured mutations of the example policies
   (keys removed, values retyped, oversized, routes and templates edited, rules duplicated, typos): it
   returns a ``Policy`` or raises ``PolicyError`` from ``cognito_authz.errors`` with a documented reason.
2. ``Policy.from_file`` on the same documents written as YAML, JSON and TOML, then damaged as text
   (truncation, character edits, BOM, NUL, invalid UTF-8, duplicated keys, YAML tags and anchors, deep
   nesting) and on arbitrary bytes: same contract.
3. A policy that loads answers ``decide`` on hostile requests with a ``Decision`` and never through the
   engine's internal-fault fallback (``evaluation_error``), which would hide a bug as a silent deny.

Regression cases for the two RecursionErrors this campaign found (deep TOML, deep from_dict input) are
pinned below the properties.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cognito_authz.errors import PolicyError
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal
from tests.hardening.campaign import TALLY, assert_our_error, fuzz_settings, scaled

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
BASES: dict[str, dict[str, Any]] = {
    name: yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
    for name in ("design_example", "demo")
}
EVALUATION_ERROR = "evaluation_error"

PRINCIPALS = [
    Principal.from_claims({"sub": "u1", "cognito:groups": ["admin"], "scope": "orders/read"}),
    Principal.from_claims({"sub": "u1", "cognito:groups": ["member"], "custom:tenant_id": "acme"}),
    Principal.from_claims({"sub": "{userId}", "cognito:groups": ["{admin}", "*"], "custom:tenant_id": "*"}),
    Principal.from_claims({"sub": "x"}),
]
REQUESTS = [
    ("GET", "/orders/42"),
    ("get", "/users/u1"),
    ("ANY", "/tenants/acme/projects/p1/tasks"),
    ("DELETE", "/tenants/%61cme/projects/p1"),
    ("GET", "/"),
    ("GET", "/a//b"),
    ("GET", "/orders/../admin"),
    ("GET", "/a%2Fb/%zz"),
    ("", "$connect"),
    ("POST", "/" + "x/" * 300 + "y"),
    ("GET", "/ü/\ud800"),
]


def outcome(load: Any, *args: Any) -> Policy | None:
    """The loaded policy, or ``None`` after checking the error is our PolicyError."""
    try:
        policy: Policy = load(*args)
    except PolicyError as exc:
        assert_our_error(exc, PolicyError)
        return None
    assert isinstance(policy, Policy)
    return policy


def decides_cleanly(policy: Policy) -> None:
    for principal in PRINCIPALS:
        for method, path in REQUESTS:
            decision = policy.decide(principal, method, path)
            assert isinstance(decision.allowed, bool)
            assert decision.reason != EVALUATION_ERROR, (method, path, principal.claims)
            TALLY.add("operations:policy.decide_after_load")


# --- 1. arbitrary documents -------------------------------------------------------------------------

_KEYS = st.sampled_from(
    [
        "version", "rules", "groups", "description", "id", "effect", "routes", "when", "unless", "claims",
        "scopes", "all_groups", "all_scopes", "token_use", "client_id", "sub", "custom:tenant_id", "grups",
    ]
) | st.text(max_size=8)  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(
        [
            "GET /orders/{orderId}",
            "ANY /{proxy+}",
            "$connect",
            "allow",
            "deny",
            "{orderId}",
            "*",
            "id",
            "access",
        ]
    ),
    st.from_regex(r"(ANY|GET|POST|get|\$connect) ?/?[a-z{}+%./]{0,20}", fullmatch=True),
)
_JSONISH = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=10,
)
_PYTHONISH = st.recursive(
    _SCALARS | st.binary(max_size=5) | st.just(math.nan),
    lambda inner: (
        st.lists(inner, max_size=3).map(tuple)
        | st.frozensets(st.integers(), max_size=3)
        | st.dictionaries(st.one_of(_KEYS, st.integers(), st.booleans(), st.none()), inner, max_size=4)
    ),
    max_leaves=12,
)
DOCUMENTS = st.one_of(
    _JSONISH,
    _PYTHONISH,
    st.fixed_dictionaries(
        {
            "version": st.one_of(st.just(1), _SCALARS),
            "rules": st.lists(st.dictionaries(_KEYS, _JSONISH), max_size=4),
        }
    ),
)


@given(document=DOCUMENTS)
@fuzz_settings(300, 5000)
def _arbitrary_documents(document: Any) -> None:
    TALLY.add("inputs:policy.from_dict.arbitrary")
    policy = outcome(Policy.from_dict, document)
    if policy is not None:
        TALLY.add("inputs:policy.from_dict.arbitrary.loaded")
        decides_cleanly(policy)


def test_arbitrary_documents_raise_only_policy_error() -> None:
    before = TALLY["inputs:policy.from_dict.arbitrary"]
    _arbitrary_documents()
    assert TALLY["inputs:policy.from_dict.arbitrary"] - before >= scaled(300, 5000) // 2


# --- 2. mutations of the example policies ---------------------------------------------------------------

_REPLACEMENTS: list[Any] = [
    None, 0, -1, 2, 1.5, True, "", "x" * 5000, [], {}, [None], {"x": 1}, ["GET /a"], "GET /a", ("t",),
    [[[[["deep"]]]]], {"groups": ["admin"]}, "{orderId}", "*", "ANY /{proxy+}", "deny", math.inf,
]  # fmt: skip
_ROUTE_EDITS = [
    "{",
    "}",
    "+",
    "/",
    "//",
    "%",
    "%2F",
    " ",
    "\t",
    "ü",
    "..",
    "{a}{b}",
    "{proxy+}/x",
    "$",
    "*",
    "?",
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    node = document
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated_policies(draw: st.DrawFn) -> dict[str, Any]:
    document = copy.deepcopy(BASES[draw(st.sampled_from(sorted(BASES)))])
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(document) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(document, path)
        key = path[-1]
        kind = draw(st.sampled_from(["delete", "retype", "route-edit", "rename", "duplicate", "oversize"]))
        TALLY.add(f"inputs:policy.mutation.{kind}")
        if kind == "delete":
            del parent[key]
        elif kind == "retype":
            parent[key] = copy.deepcopy(draw(st.sampled_from(_REPLACEMENTS)))
        elif kind == "route-edit":
            value = parent[key]
            text = value if isinstance(value, str) else "GET /orders/{orderId}"
            where = draw(st.integers(0, len(text)))
            parent[key] = text[:where] + draw(st.sampled_from(_ROUTE_EDITS)) + text[where + 1 :]
        elif kind == "rename" and isinstance(parent, dict):
            parent[str(key) + draw(st.sampled_from(["s", "_", " ", "X"]))] = parent.pop(key)
        elif kind == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif kind == "oversize" and isinstance(parent, list):
            copies = min(draw(st.integers(50, 400)), 1000 - len(parent))  # big, bounded across repeats
            parent.extend(copy.deepcopy(parent[key]) for _ in range(max(0, copies)))
    return document


@given(document=mutated_policies())
@fuzz_settings(300, 5000)
def _mutated_documents(document: dict[str, Any]) -> None:
    TALLY.add("inputs:policy.from_dict.mutated")
    policy = outcome(Policy.from_dict, document)
    if policy is not None:
        TALLY.add("inputs:policy.from_dict.mutated.loaded")
        decides_cleanly(policy)


def test_mutated_policies_raise_only_policy_error() -> None:
    before = TALLY["inputs:policy.from_dict.mutated"]
    loaded = TALLY["inputs:policy.from_dict.mutated.loaded"]
    _mutated_documents()
    assert TALLY["inputs:policy.from_dict.mutated"] - before >= scaled(300, 5000) // 2
    assert TALLY["inputs:policy.from_dict.mutated.loaded"] > loaded, "no mutated policy ever loaded"


# --- 3. files: every format, damaged as text, and arbitrary bytes ---------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return '"unrepresentable"'  # None has no TOML form: the loader sees a string where it wanted else


def as_text(document: Any, suffix: str) -> str:
    if suffix == ".json":
        return json.dumps(document, indent=1, default=str)
    if suffix == ".toml":
        if not isinstance(document, dict):
            return f"value = {_toml_value(document)}\n"
        return "".join(f"{json.dumps(str(k))} = {_toml_value(v)}\n" for k, v in document.items())
    return yaml.safe_dump(document, allow_unicode=True, default_flow_style=False)


_TEXT_DAMAGE = st.sampled_from(
    ["none", "truncate", "edit", "bom", "nul", "invalid-utf8", "duplicate-key", "yaml-tag", "anchor", "deep"]
)


def damage(text: str, suffix: str, kind: str, where: int, char: str) -> bytes:
    at = where % (len(text) + 1)
    if kind == "truncate":
        return text[:at].encode()
    if kind == "edit":
        return (text[:at] + char + text[at + 1 :]).encode("utf-8", "surrogatepass")
    if kind == "bom":
        return "\ufeff".encode() + text.encode()
    if kind == "nul":
        return (text[:at] + "\x00" + text[at:]).encode()
    if kind == "invalid-utf8":
        raw = text.encode()
        return raw[:at] + b"\xff\xfe\xc0" + raw[at:]
    if kind == "duplicate-key":
        return {".json": text.replace("{", '{"version": 1, ', 1), ".toml": text + "version = 1\n"}.get(
            suffix, text + "version: 1\n"
        ).encode()
    if kind == "yaml-tag":
        return (
            text + "\nx: !!python/object/apply:os.getcwd []\ny: !!binary aGk=\nz: !!set {a, b}\n"
        ).encode()
    if kind == "anchor":
        bomb = 'a: &a ["x","x","x","x","x","x","x","x"]\n' + "".join(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 8)}]\n"
            for prev, name in zip("abcdef", "bcdefg", strict=True)
        )
        return (text + "\n" + bomb).encode()
    if kind == "deep":
        # PyYAML is slow to give up on deep nesting (seconds past ~900 levels); TOML and JSON are quick.
        depth = 100 + where % (500 if suffix in (".yaml", ".yml") else 5000)
        nested = {".toml": "[" * depth + "]" * depth, ".json": "[" * depth + "]" * depth}.get(
            suffix, "[" * depth + "]" * depth
        )
        line = {".toml": f"deep = {nested}\n", ".json": None}.get(suffix, f"deep: {nested}\n")
        if line is None:
            return text.replace("{", '{"deep": ' + nested + ", ", 1).encode()
        return (line + text).encode()
    return text.encode()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("policy-files")


@given(
    document=st.one_of(mutated_policies(), _JSONISH, st.sampled_from(sorted(BASES)).map(lambda n: BASES[n])),
    suffix=st.sampled_from([".yaml", ".yml", ".json", ".toml"]),
    kind=_TEXT_DAMAGE,
    where=st.integers(0, 1 << 20),
    char=st.sampled_from(
        ['"', "'", ":", "[", "{", "}", "]", ",", "\n", "#", "&", "*", "!", "\\", "=", "\ud800"]
    ),
)
@fuzz_settings(250, 4000)
def _files(workdir: Path, document: Any, suffix: str, kind: str, where: int, char: str) -> None:
    path = workdir / f"policy{suffix}"
    path.write_bytes(damage(as_text(document, suffix), suffix, kind, where, char))
    TALLY.add("inputs:policy.from_file")
    TALLY.add(f"inputs:policy.from_file.damage.{kind}")
    policy = outcome(Policy.from_file, path)
    if policy is not None:
        TALLY.add("inputs:policy.from_file.loaded")
        decides_cleanly(policy)


def test_policy_files_raise_only_policy_error(workdir: Path) -> None:
    before = TALLY["inputs:policy.from_file"]
    loaded = TALLY["inputs:policy.from_file.loaded"]
    _files(workdir)
    assert TALLY["inputs:policy.from_file"] - before >= scaled(250, 4000) // 2
    assert TALLY["inputs:policy.from_file.loaded"] > loaded, "no file ever loaded: the generator is broken"


@given(raw=st.binary(max_size=2000), suffix=st.sampled_from([".yaml", ".json", ".toml", ".txt", ""]))
@fuzz_settings(200, 3000)
def _arbitrary_bytes(workdir: Path, raw: bytes, suffix: str) -> None:
    path = workdir / f"bytes{suffix}"
    path.write_bytes(raw)
    TALLY.add("inputs:policy.from_file.bytes")
    policy = outcome(Policy.from_file, path)
    if policy is not None:
        decides_cleanly(policy)


def test_arbitrary_bytes_raise_only_policy_error(workdir: Path) -> None:
    before = TALLY["inputs:policy.from_file.bytes"]
    _arbitrary_bytes(workdir)
    assert TALLY["inputs:policy.from_file.bytes"] - before >= scaled(200, 3000) // 2


def test_every_base_policy_loads_identically_from_every_format(workdir: Path) -> None:
    # The generators start from valid documents: prove the writers produce loadable files.
    for name, document in BASES.items():
        reference = Policy.from_dict(document)
        for suffix in (".yaml", ".json", ".toml"):
            path = workdir / f"{name}{suffix}"
            path.write_text(as_text(document, suffix), encoding="utf-8")
            assert Policy.from_file(path).document == reference.document, (name, suffix)


# --- regressions found by this campaign -------------------------------------------------------------------


@pytest.mark.parametrize("nested", ["[" * 3000 + "]" * 3000, "{a = " * 3000 + "1" + "}" * 3000])
def test_deeply_nested_toml_is_a_policy_error(workdir: Path, nested: str) -> None:
    path = workdir / "deep.toml"
    path.write_text(f"version = 1\nrules = {nested}\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        Policy.from_file(path)
    assert info.value.reason == "policy_syntax"


@pytest.mark.parametrize("field", ["rules", "description", "groups"])
def test_deeply_nested_dict_input_is_a_policy_error(field: str) -> None:
    deep: list[Any] = []
    cursor = deep
    for _ in range(5000):
        cursor.append([])
        cursor = cursor[0]
    document: dict[str, Any] = {"version": 1, "rules": []}
    document[field] = deep
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(document)
    assert info.value.reason == "policy_schema"


def test_value_whose_repr_raises_is_a_policy_error() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    with pytest.raises(PolicyError) as info:
        Policy.from_dict({"version": 1, "rules": [], "description": Hostile()})
    assert "Hostile" in str(info.value)
