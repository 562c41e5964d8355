"""The API's route table: parsing, the ``api:`` section of a policy file, and route selection by the
gateway's priority, checked against a naive reference (regular expressions, an explicit ranking)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz import Policy
from cognito_authz.errors import PolicyError
from cognito_authz.policy.api_table import ApiTable
from cognito_authz.routing import request_segments

TABLE = [
    "GET /orders",
    "POST /orders",
    "GET /orders/{orderId}",
    "GET /orders/special",
    "ANY /orders/{orderId}",
    "GET /files/{path+}",
    "ANY /{proxy+}",
    "$connect",
]


@pytest.fixture
def table() -> ApiTable:
    return ApiTable.parse(TABLE, source="t.yaml")


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("GET", "/orders", "GET /orders"),
        ("GET", "/orders/", "GET /orders"),  # one trailing slash routes like none
        ("POST", "/orders", "POST /orders"),
        ("PUT", "/orders", "ANY /{proxy+}"),  # ANY /orders does not exist: the greedy route takes it
        ("GET", "/orders/special", "GET /orders/special"),  # literal over parameter
        ("GET", "/orders/42", "GET /orders/{orderId}"),  # verb over ANY
        ("DELETE", "/orders/42", "ANY /orders/{orderId}"),
        ("DELETE", "/orders/special", "ANY /orders/{orderId}"),  # no DELETE literal: parameter wins
        ("GET", "/orders/42/items", "ANY /{proxy+}"),
        ("GET", "/files/a/b", "GET /files/{path+}"),  # longer literal prefix over a shorter one
        ("GET", "/files", "ANY /{proxy+}"),  # {path+} needs one segment
        ("", "$connect", "$connect"),
    ],
)
def test_route_for_follows_the_gateway_priority(table: ApiTable, method: str, path: str, route: str) -> None:
    found = table.route_for(method, path)
    assert found is not None
    assert found.text == route


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("PROPFIND", "/orders"), ("GET", "/orders//"), ("GET", "/a/../b"), ("", "$disconnect")],
)
def test_unroutable(table: ApiTable, method: str, path: str) -> None:
    assert table.route_for(method, path) is None
    assert not table.routable(method, path)


def test_an_empty_table_routes_what_the_routing_model_accepts() -> None:
    empty = ApiTable.parse([])
    assert empty.routable("GET", "/anything/at/all/")
    assert empty.routable("DELETE", "/")
    assert empty.routable("", "$connect")
    assert not empty.routable("PROPFIND", "/x")
    assert not empty.routable("GET", "/a//b")
    assert empty.route_for("GET", "/x") is None


def test_parse_keeps_order_and_drops_duplicates() -> None:
    table = ApiTable.parse(["GET /b", "GET /a", "GET /b"])
    assert table.texts == ("GET /b", "GET /a")
    assert len(table) == 2


@pytest.mark.parametrize(
    "bad", [["GET /a", "FETCH /b"], ["GET /a/{ x}"], ["/a"], [42], "GET /a", {"GET /a": 1}, 42, None]
)
def test_parse_errors_name_the_entry(bad: Any) -> None:
    with pytest.raises(PolicyError) as caught:
        ApiTable.parse(bad, source="api.yaml")
    assert caught.value.source == "api.yaml"
    assert str(getattr(caught.value, "field", "")).startswith("api")


# --- the api: section of a policy file -----------------------------------------------------------------

RULES = [{"id": "read", "routes": ["GET /orders"]}]


def test_policy_without_api_has_no_table() -> None:
    assert Policy.from_dict({"version": 1, "rules": RULES}).api is None


def test_policy_api_from_dict() -> None:
    policy = Policy.from_dict({"version": 1, "rules": RULES, "api": ["GET /orders", "GET /x/{id}"]})
    assert policy.api is not None
    assert policy.api.texts == ("GET /orders", "GET /x/{id}")
    # the table never changes what decide answers: a rule route the table lacks still decides
    assert policy.rules[0].id == "read"


def test_policy_api_empty_list_is_a_table_that_routes_everything() -> None:
    policy = Policy.from_dict({"version": 1, "rules": RULES, "api": []})
    assert policy.api is not None
    assert policy.api.routable("GET", "/anything")


def test_a_mismatch_between_rules_and_table_is_not_a_load_error() -> None:
    policy = Policy.from_dict({"version": 1, "rules": RULES, "api": ["GET /other"]})
    assert policy.api is not None
    assert not policy.api.routable("GET", "/orders")


@pytest.mark.parametrize(
    ("api", "field"),
    [(["GET /orders", "GET /a/{ x}"], "api[1]"), ("GET /orders", "api"), ([1], "api[0]"), ({"a": 1}, "api")],
)
def test_policy_api_errors_name_the_field(api: Any, field: str) -> None:
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict({"version": 1, "rules": RULES, "api": api}, source="p.yaml")
    assert caught.value.field == field
    assert caught.value.source == "p.yaml"


def test_policy_api_from_every_file_format(tmp_path: Path) -> None:
    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text(
        "version: 1\napi: ['GET /orders', 'ANY /{proxy+}']\nrules:\n  - id: r\n    routes: [GET /orders]\n"
    )
    json_file = tmp_path / "p.json"
    json_file.write_text(json.dumps({"version": 1, "api": ["GET /orders", "ANY /{proxy+}"], "rules": RULES}))
    toml_file = tmp_path / "p.toml"
    toml_file.write_text(
        'version = 1\napi = ["GET /orders", "ANY /{proxy+}"]\n[[rules]]\nid = "r"\nroutes = ["GET /orders"]\n'
    )
    for path in (yaml_file, json_file, toml_file):
        policy = Policy.from_file(path)
        assert policy.api is not None, path
        assert policy.api.texts == ("GET /orders", "ANY /{proxy+}"), path
        assert policy.api.source == str(path)


# --- route_for against a naive reference ---------------------------------------------------------------


def naive_route_for(routes: list[str], method: str, path: str) -> str | None:
    """Every route whose regular expression matches, ranked by hand: per segment literal < parameter <
    greedy, then a verb before ANY."""
    standard = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
    verb = method.upper() if method.upper() in standard else None
    segments = request_segments(path)
    if verb is None or segments is None:
        return None
    joined = "/" + "/".join(segments)
    best: tuple[Any, ...] | None = None
    chosen = None
    for text in routes:
        route_verb, template = text.split(" ", 1)
        if route_verb not in ("ANY", verb):
            continue
        parts = [] if template == "/" else template[1:].split("/")
        regex = ""
        rank = []
        for part in parts:
            if part.endswith("+}"):
                regex += "/.+"
                rank.append(2)
            elif part.startswith("{"):
                regex += "/[^/]+"
                rank.append(1)
            else:
                regex += "/" + re.escape(part)
                rank.append(0)
        if not re.fullmatch(regex or "/", joined):
            continue
        key = (tuple(rank), route_verb == "ANY")
        if best is None or key < best:
            best, chosen = key, text
    return chosen


ROUTE_POOL = [
    f"{verb} {path}"
    for verb in ("GET", "POST", "ANY")
    for path in ("/", "/a", "/a/b", "/a/{x}", "/{y}", "/{y}/b", "/a/{p+}", "/{q+}", "/{y}/{z}", "/a/b/{p+}")
]
REQUEST_PATHS = ["/", "/a", "/a/", "/a/b", "/a/c", "/b", "/b/b", "/a/b/c", "/a/b/c/d", "/c/d/e", "/a//b"]


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(st.sampled_from(ROUTE_POOL), max_size=8, unique=True),
    st.sampled_from(["GET", "POST", "PUT", "get", "PROPFIND"]),
    st.sampled_from(REQUEST_PATHS),
)
def test_route_for_agrees_with_the_naive_reference(routes: list[str], method: str, path: str) -> None:
    # Two routes with the same shape but different parameter names cannot coexist in one API (API
    # Gateway rejects them), so such tables are left out.
    shapes = [re.sub(r"\{[^}]*\}", "{}", text) for text in routes]
    if len(set(shapes)) != len(shapes):
        return
    table = ApiTable.parse(routes)
    found = table.route_for(method, path)
    assert (found.text if found else None) == naive_route_for(routes, method, path)
    if routes:
        assert table.routable(method, path) == (found is not None)
    else:
        expected = request_segments(path) is not None and method.upper() in {"GET", "POST", "PUT"}
        assert table.routable(method, path) == expected


def test_a_literal_sibling_does_not_hide_a_parameter_route() -> None:
    """Whether the gateway backtracks is not documented: the request counts as routable (the careful side)."""
    table = ApiTable.parse(["GET /a/b/c", "GET /{x}/b/d"])
    found = table.route_for("GET", "/a/b/d")
    assert found is not None
    assert found.text == "GET /{x}/b/d"
