"""Route syntax and matching: parsing errors, and every edge case of the route syntax (docs/policy.md:
encoded slashes, dot segments, empty segments, trailing slash, case, greedy, ANY, WebSocket keys)."""

from __future__ import annotations

import pytest

from cognito_authz.errors import PolicyError
from cognito_authz.policy import Route
from cognito_authz.policy.routes import could_be_param, normalize_method, overlaps, split_path, subsumes

# --- parsing ---------------------------------------------------------------------------------------


def test_parse_plain_route() -> None:
    route = Route.parse("GET /orders/{orderId}")
    assert route.method == "GET"
    assert route.path == "/orders/{orderId}"
    assert route.text == "GET /orders/{orderId}"
    assert route.params == ("orderId",)
    assert route.greedy is False
    assert not route.is_websocket


def test_parse_greedy_route() -> None:
    route = Route.parse("ANY /files/{path+}")
    assert route.method == "ANY"
    assert route.params == ("path",)
    assert route.greedy is True


def test_parse_root_route() -> None:
    route = Route.parse("GET /")
    assert route.path == "/"
    assert route.params == ()


def test_parse_normalizes_whitespace_into_text() -> None:
    assert Route.parse("  GET\t /orders ").text == "GET /orders"


@pytest.mark.parametrize("key", ["$connect", "$disconnect", "$default"])
def test_parse_websocket_keys(key: str) -> None:
    route = Route.parse(key)
    assert route.method is None
    assert route.path == key
    assert route.text == key
    assert route.params == ()
    assert route.is_websocket


@pytest.mark.parametrize(
    ("text", "reason", "fragment"),
    [
        ("GET /orders/{ id}", "route_literal_brace", "did you mean '{id}'"),
        ("GET /orders/{id }", "route_literal_brace", "did you mean '{id}'"),
        ("GET /orders/{}", "route_literal_brace", "unnamed"),
        ("GET /files/{+}", "route_literal_brace", "unnamed"),
        ("GET /orders/x{id}", "route_literal_brace", "whole segment"),
        ("GET /orders/{id", "route_literal_brace", "whole segment"),
        ("GET /orders/id}", "route_literal_brace", "whole segment"),
        ("GET /orders/{a.b}", "route_literal_brace", "whole segment"),
        ("GET /files/{path+}/meta", "invalid_route", "must be the last segment"),
        ("GET /a/{id}/{id}", "invalid_route", "appears twice"),
        ("GET /orders/", "invalid_route", "trailing '/'"),
        ("GET /a//b", "invalid_route", "'//'"),
        ("GET /a/./b", "invalid_route", "dot segment"),
        ("GET /a/..", "invalid_route", "dot segment"),
        ("get /orders", "invalid_route", "upper-case"),
        ("Any /orders", "invalid_route", "upper-case"),
        ("FETCH /orders", "invalid_route", "unknown method"),
        ("/orders", "invalid_route", "missing method"),
        ("GET orders", "invalid_route", "must start with '/'"),
        ("GET", "invalid_route", "expected 'METHOD /path'"),
        ("", "invalid_route", "expected 'METHOD /path'"),
        ("GET /a b", "invalid_route", "whitespace"),
        ("GET /a%2Fb", "invalid_route", "'%'"),
        ("GET /a?x=1", "invalid_route", "'?'"),
        ("$conect", "invalid_route", "unknown WebSocket route key"),
    ],
)
def test_parse_errors(text: str, reason: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as info:
        Route.parse(text)
    assert info.value.reason == reason
    assert fragment in str(info.value)


def test_parse_rejects_non_string() -> None:
    with pytest.raises(PolicyError) as info:
        Route.parse(42)  # type: ignore[arg-type]
    assert info.value.reason == "invalid_route"


# --- path canonicalization -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("/", ()),
        ("/orders", ("orders",)),
        ("/orders/42", ("orders", "42")),
        ("/%61dmin", ("admin",)),  # unreserved escapes decode: no way around a literal
        ("/files/a%2Fb", ("files", "a%2Fb")),  # an encoded slash never splits
        ("/files/a%2fb", ("files", "a%2Fb")),  # ... and is canonical upper-case
        ("/files/100%25", ("files", "100%25")),  # an encoded '%' stays encoded: decoding is unambiguous
        ("/caf%C3%A9", ("café",)),
        ("/a%20b", ("a b",)),
    ],
)
def test_split_path(path: str, segments: tuple[str, ...]) -> None:
    assert split_path(path) == segments


@pytest.mark.parametrize(
    "path",
    [
        "",
        "orders",
        "/orders/",  # trailing slash: an empty segment
        "/a//b",
        "//",
        "/a/./b",
        "/a/../b",
        "/..",
        "/a/%2e%2e/b",  # encoded dot segments are still dot segments
        "/a/%2E",
        "/a/%zz",  # broken escape
        "/a/%4",
        "/a/%C3",  # invalid UTF-8
        "/a/%00",  # control characters, raw or encoded
        "/a\nb",
        "/\ud800",  # a lone surrogate: not encodable, so never a real request
        "/" + "a" * 9000,  # longer than any API Gateway path
        None,
        42,
        b"/orders",
    ],
)
def test_split_path_rejects(path: object) -> None:
    assert split_path(path) is None


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("GET", "GET"),
        ("get", "GET"),
        ("Delete", "DELETE"),
        ("", None),
        ("G3T", None),
        ("GÉT", None),
        (None, None),
    ],
)
def test_normalize_method(method: object, expected: str | None) -> None:
    assert normalize_method(method) == expected


# --- matching edge cases ---------------------------------------------------------------------------


def test_single_param_matches_exactly_one_segment() -> None:
    route = Route.parse("GET /orders/{orderId}")
    assert route.match("GET", "/orders/42") == {"orderId": "42"}
    assert route.match("GET", "/orders") is None
    assert route.match("GET", "/orders/42/items") is None


def test_encoded_slash_stays_inside_one_parameter() -> None:
    route = Route.parse("GET /orders/{orderId}")
    assert route.match("GET", "/orders/4%2F2") == {"orderId": "4%2F2"}
    assert Route.parse("GET /orders/{a}/{b}").match("GET", "/orders/4%2F2") is None


def test_dot_segments_never_match_a_parameter() -> None:
    route = Route.parse("GET /orders/{orderId}")
    for path in ("/orders/.", "/orders/..", "/orders/%2e", "/orders/%2E%2E"):
        assert route.match("GET", path) is None
    greedy = Route.parse("GET /files/{path+}")
    assert greedy.match("GET", "/files/a/../b") is None
    assert greedy.match("GET", "/files/..") is None
    # a dot inside a segment is an ordinary character
    assert route.match("GET", "/orders/a.b") == {"orderId": "a.b"}
    assert route.match("GET", "/orders/...") == {"orderId": "..."}


def test_empty_segments_never_match() -> None:
    route = Route.parse("GET /orders/{orderId}")
    assert route.match("GET", "/orders//") is None
    assert route.match("GET", "//orders/1") is None
    assert Route.parse("GET /{a}/{b}").match("GET", "/x//") is None


def test_one_trailing_slash_routes_like_none() -> None:
    assert Route.parse("GET /orders").match("GET", "/orders/") == {}
    assert Route.parse("GET /orders/{id}").match("GET", "/orders/1/") == {"id": "1"}
    assert Route.parse("GET /files/{p+}").match("GET", "/files/a/") == {"p": "a"}
    assert Route.parse("GET /orders").match("GET", "/orders//") is None
    assert Route.parse("GET /orders/{id}").match("GET", "/orders/") is None


def test_literal_segments_are_case_sensitive() -> None:
    route = Route.parse("GET /Orders")
    assert route.match("GET", "/Orders") == {}
    assert route.match("GET", "/orders") is None
    assert route.match("GET", "/ORDERS") is None


def test_percent_encoded_literal_matches_decoded() -> None:
    assert Route.parse("GET /admin").match("GET", "/%61dmin") == {}
    assert Route.parse("GET /admin").match("GET", "/%41dmin") is None  # %41 is 'A': case still counts


def test_parameter_values_are_decoded() -> None:
    assert Route.parse("GET /users/{id}").match("GET", "/users/a%40b.com") == {"id": "a@b.com"}


def test_greedy_matches_one_or_more_segments() -> None:
    route = Route.parse("ANY /files/{path+}")
    assert route.match("GET", "/files/a") == {"path": "a"}
    assert route.match("PUT", "/files/a/b/c") == {"path": "a/b/c"}
    assert route.match("GET", "/files") is None
    assert route.match("GET", "/file") is None
    assert route.match("GET", "/files/a%2Fb/c") == {"path": "a%2Fb/c"}


def test_root_greedy_does_not_match_root() -> None:
    route = Route.parse("ANY /{proxy+}")
    assert route.match("GET", "/") is None
    assert route.match("GET", "/x") == {"proxy": "x"}


def test_root_route_matches_only_root() -> None:
    route = Route.parse("GET /")
    assert route.match("GET", "/") == {}
    assert route.match("GET", "/x") is None


def test_any_matches_every_method() -> None:
    route = Route.parse("ANY /orders")
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get"):
        assert route.match(method, "/orders") == {}
    # verbs outside the standard seven: what the gateway does is unknown, so no route matches them
    for method in ("PURGE", "PROPFIND", "TRACE", "ANY"):
        assert route.match(method, "/orders") is None
    assert route.match("", "/orders") is None
    assert route.match("G E T", "/orders") is None


def test_method_must_match_and_is_case_insensitive_on_input() -> None:
    route = Route.parse("GET /orders")
    assert route.match("POST", "/orders") is None
    assert route.match("get", "/orders") == {}  # upper-cased: 'get' cannot dodge a GET deny rule


def test_websocket_route_ignores_method() -> None:
    route = Route.parse("$connect")
    assert route.match("GET", "$connect") == {}
    assert route.match("", "$connect") == {}
    assert route.match("GET", "$disconnect") is None
    assert route.match("GET", "/$connect") is None
    assert Route.parse("ANY /{p+}").match("GET", "$connect") is None


def test_match_never_raises_on_nonsense() -> None:
    route = Route.parse("ANY /{p+}")
    for method, path in [(None, None), (1, 2), ("GET", b"/x"), ("GET", "\x00"), ("", "")]:
        assert route.match(method, path) is None  # type: ignore[arg-type]


def test_specificity_orders_literal_param_greedy_and_verb_before_any() -> None:
    texts = ["ANY /{p+}", "GET /orders/{id}", "ANY /orders/{id}", "GET /orders/latest", "GET /{a}/latest"]
    ordered = sorted((Route.parse(t) for t in texts), key=Route.specificity)
    assert [r.text for r in ordered] == [
        "GET /orders/latest",
        "GET /orders/{id}",
        "ANY /orders/{id}",
        "GET /{a}/latest",
        "ANY /{p+}",
    ]


# --- pattern algebra used by lint and allowed_routes ------------------------------------------------


def _mp(text: str) -> tuple[str | None, tuple[tuple[int, str], ...]]:
    route = Route.parse(text)
    return route.method, route.pattern


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ("ANY /{p+}", "GET /orders/{id}", True),
        ("ANY /orders/{id}", "GET /orders/42", True),
        ("GET /orders/{id}", "ANY /orders/{id}", False),
        ("GET /orders/{id}", "GET /orders/{id}/x", False),
        ("GET /orders/{p+}", "GET /orders/{id}/x", True),
        ("GET /orders/{id}", "GET /orders/{p+}", False),
        ("GET /orders", "GET /orders", True),
        ("GET /a", "GET /b", False),
        ("$connect", "$connect", True),
        ("ANY /{p+}", "$connect", False),
    ],
)
def test_subsumes(outer: str, inner: str, expected: bool) -> None:
    assert subsumes(_mp(outer), _mp(inner)) is expected


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("ANY /{p+}", "GET /orders", True),
        ("GET /orders/{id}", "POST /orders/{id}", False),
        ("GET /a/{x}", "GET /{y}/b", True),
        ("GET /a/b", "GET /a/c", False),
        ("GET /a", "GET /a/{x}", False),
        ("GET /a/{p+}", "GET /a", False),
        ("$connect", "$connect", True),
        ("$connect", "$disconnect", False),
        ("$connect", "ANY /{p+}", False),
    ],
)
def test_overlaps(first: str, second: str, expected: bool) -> None:
    assert overlaps(_mp(first), _mp(second)) is expected
    assert overlaps(_mp(second), _mp(first)) is expected


@pytest.mark.parametrize(
    ("value", "greedy", "expected"),
    [
        ("acme", False, True),
        ("a b", False, True),
        ("a/b", False, False),
        ("a/b", True, True),
        ("a//b", True, False),
        ("", False, False),
        ("..", False, False),
        ("50%", False, False),
        ("a%2Fb", False, True),
        ("a%2fb", False, False),  # never produced: canonical escapes are upper-case
        ("x\x00", False, False),
    ],
)
def test_could_be_param(value: str, greedy: bool, expected: bool) -> None:
    assert could_be_param(value, greedy=greedy) is expected
