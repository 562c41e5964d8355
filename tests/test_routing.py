"""The routing model (cognito_authz.routing): each gateway fact on its own, against a naive reference
written apart from the module, and through ``Policy.decide`` (trailing slashes, odd segments, ``*`` and
``?`` in paths, odd verbs)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz import Policy
from cognito_authz.policy.routes import Route, match_pattern
from cognito_authz.principal import Principal
from cognito_authz.routing import (
    MAX_PATH,
    STANDARD_VERBS,
    api_relative_path,
    framework_method,
    request_method,
    request_segments,
    split_path,
    strip_base_path,
)

# --- a naive reference, written apart: bytes in, one rule at a time ----------------------------------


def naive_segments(path: object) -> tuple[str, ...] | None:
    """What the routing model promises, spelled out the slow way."""
    if not isinstance(path, str) or not path.startswith("/") or len(path) > MAX_PATH:
        return None
    if path == "/":
        return ()
    body = path[1:]
    if body.endswith("/") and not body.endswith("//"):
        body = body[:-1]  # fact 3: one trailing slash routes like none
    out: list[str] = []
    for raw in body.split("/"):
        if not re.fullmatch(r"(?:[^%]|%[0-9A-Fa-f]{2})*", raw):
            return None  # a broken escape
        data = bytearray()
        try:
            for token in re.split(r"(%[0-9A-Fa-f]{2})", raw):
                if not token:
                    continue
                if token.startswith("%") and len(token) == 3:
                    value = int(token[1:], 16)
                    if value in (0x2F, 0x25):  # '/' and '%' stay encoded, upper-case
                        data += token.upper().encode()
                    else:
                        data.append(value)
                else:
                    data += token.encode("utf-8")
            text = data.decode("utf-8")
        except UnicodeError:
            return None
        if text in ("", ".", "..") or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
            return None
        out.append(text)
    return tuple(out)


PIECES = [
    "a", "b", "orders", "A", "*", "?", "%3F", "%2A", "%2F", "%2f", "%25", "%61", "%", "%zz", "%C3%A9",
    "%C3", "é", ".", "..", "", " ", "%00", "\x00", "\x7f", "\ud800", "~", "+", "{x}",
]  # fmt: skip
paths = st.builds(
    lambda parts, trailing: "/" + "/".join(parts) + trailing,
    st.lists(
        st.sampled_from(PIECES).flatmap(lambda p: st.lists(st.just(p), min_size=1, max_size=2)).map("".join),
        max_size=5,
    ),
    st.sampled_from(["", "/", "//"]),
)


@settings(max_examples=3000, deadline=None)
@given(paths)
def test_request_segments_agrees_with_the_naive_reference(path: str) -> None:
    assert request_segments(path) == naive_segments(path), path


@given(st.text(max_size=40))
def test_request_segments_never_raises_on_any_text(text: str) -> None:
    assert request_segments(text) == naive_segments(text)
    assert request_segments("/" + text) == naive_segments("/" + text)


# --- each fact, by example ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("/", ()),
        ("/orders", ("orders",)),
        ("/orders/", ("orders",)),  # fact 3
        ("/orders/42/", ("orders", "42")),
        ("/%61dmin/", ("admin",)),  # fact 4: decoded
        ("/a%2Fb/", ("a%2Fb",)),  # %2F never splits
        ("/a%2fb", ("a%2Fb",)),
        ("/100%25", ("100%25",)),
        ("/files/*", ("files", "*")),  # fact 6: ordinary characters
        ("/files/a%3Fb", ("files", "a?b")),
        ("/files/a?b", ("files", "a?b")),
        ("/caf%C3%A9", ("café",)),
    ],
)
def test_request_segments(path: str, segments: tuple[str, ...]) -> None:
    assert request_segments(path) == segments


@pytest.mark.parametrize(
    "path",
    [
        "", "orders", "//", "/orders//", "//orders", "/a//b", "/./a", "/a/.", "/a/../b", "/a/%2e%2e/b",
        "/a/./", "/%zz", "/%C3", "/a%00b", "/a\x00b", "/\ud800", "/" + "a" * MAX_PATH, None, 42, b"/a",
    ],
)  # fmt: skip
def test_request_segments_rejects(path: Any) -> None:
    assert request_segments(path) is None


def test_split_path_stays_strict_about_the_trailing_slash() -> None:
    assert split_path("/orders/") is None
    assert request_segments("/orders/") == ("orders",)


def test_a_long_path_with_a_trailing_slash_is_still_capped() -> None:
    assert request_segments("/" + "a" * (MAX_PATH - 2) + "/") == ("a" * (MAX_PATH - 2),)
    assert request_segments("/" + "a" * (MAX_PATH - 1) + "/") is None


def test_request_method_knows_only_the_standard_seven() -> None:
    assert {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} == STANDARD_VERBS
    for verb in STANDARD_VERBS:
        assert request_method(verb) == verb
        assert request_method(verb.lower()) == verb
    for odd in ("ANY", "PROPFIND", "TRACE", "CONNECT", "PURGE", "", "G T", "GET\n", None, 1, "ǴET"):
        assert request_method(odd) is None


def test_framework_method_serves_head_with_get() -> None:
    assert framework_method("HEAD") == "GET"
    assert framework_method("head") == "GET"
    assert framework_method("GET") == "GET"
    assert framework_method("post") == "POST"


# --- the API-relative path ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "params", "path"),
    [
        ("/", None, "/"),
        ("/orders", None, "/orders"),
        ("/orders/{orderId}", {"orderId": "42"}, "/orders/42"),
        ("/tenants/{tenantId}/{proxy+}", {"tenantId": "acme", "proxy": "a/b"}, "/tenants/acme/a/b"),
        ("/files/{name}", {"name": "a*b"}, "/files/a*b"),
        ("/files/{name}", {"name": "a?b"}, "/files/a%3Fb"),
        ("/files/{name}", {"name": "100%"}, "/files/100%25"),
        ("/files/{name}", {"name": "café"}, "/files/caf%C3%A9"),
        # /orders/ through ANY /{proxy+}: the single trailing slash stays, and routes like /orders.
        ("/{proxy+}", {"proxy": "orders/"}, "/orders/"),
        ("/tenants/{tenantId}/{proxy+}", {"tenantId": "acme", "proxy": "a/"}, "/tenants/acme/a/"),
    ],
)
def test_api_relative_path(template: str, params: dict[str, str] | None, path: str) -> None:
    assert api_relative_path(template, params) == path


@pytest.mark.parametrize(
    ("template", "params"),
    [
        ("$default", None),
        ("orders", None),
        ("/orders/{orderId}", None),  # missing
        ("/orders/{orderId}", {}),
        ("/orders/{orderId}", {"orderId": ""}),
        ("/orders/{orderId}", {"orderId": "a/b"}),  # '/' in a non-greedy value: fail closed
        ("/orders/{orderId}", {"orderId": ".."}),
        ("/orders/{orderId}", {"orderId": "\x00"}),
        ("/orders/{orderId}", {"orderId": "\ud800"}),
        ("/files/{p+}", {"p": "a//b"}),
        ("/files/{p+}", {"p": "a//"}),  # two trailing slashes: an empty segment
        ("/files/{p+}", {"p": "/"}),
        ("/files/{p+}/x", {"p": "a"}),  # greedy not last
        ("/files/{ p}", {" p": "a"}),
        ("/files//x", None),
    ],
)
def test_api_relative_path_fails_closed(template: str, params: dict[str, str] | None) -> None:
    assert api_relative_path(template, params) is None


templates = st.lists(st.sampled_from(["orders", "{a}", "{b}", "x"]), max_size=3, unique=True).flatmap(
    lambda parts: st.sampled_from(["", "/{rest+}"]).map(lambda tail: "/" + "/".join(parts) + tail)
)
values = st.lists(st.sampled_from([*"ab/%*?.é ~", "%2F", "\x01"]), max_size=6).map("".join)


@settings(max_examples=1500, deadline=None)
@given(templates, st.fixed_dictionaries({"a": values, "b": values, "rest": values}))
def test_api_relative_path_gives_back_the_parameters(template: str, params: dict[str, str]) -> None:
    """Rebuilt, canonicalized and matched against its own template, a path yields the same values (in
    canonical form: a kept '%' reads '%25'), or the rebuild refused."""
    template = template.replace("//", "/")
    rebuilt = api_relative_path(template, params)
    used = re.findall(r"\{(\w+)\+?\}", template)
    if rebuilt is None:
        refusable = any(
            params[name] == ""
            or ("/" in params[name] and name != "rest")
            or any(part in ("", ".", "..") or "\x01" in part for part in params[name].split("/"))
            for name in used
        )
        assert refusable, (template, params)
        return
    route = Route.parse("GET " + template)
    segments = request_segments(rebuilt)
    assert segments is not None, rebuilt
    got = match_pattern(route.pattern, segments)
    # A greedy value's single trailing slash is the request's: it routes like none (routing fact 3).
    expected = {
        name: (params[name].removesuffix("/") if name == "rest" else params[name]).replace("%", "%25")
        for name in used
    }
    assert got == expected, (template, params, rebuilt)


def test_strip_base_path() -> None:
    assert strip_base_path("/v1/orders", "v1") == "/orders"
    assert strip_base_path("/v1/orders", "/v1/") == "/orders"
    assert strip_base_path("/v1", "v1") == "/"
    assert strip_base_path("/v10/orders", "v1") is None  # not on a segment boundary
    assert strip_base_path("/orders", "v1") is None
    assert strip_base_path("/orders/v2/x", "orders/v2") == "/x"  # multi-level API mapping
    assert strip_base_path("/orders", "") == "/orders"
    assert strip_base_path("/orders", "/") == "/orders"
    assert strip_base_path("orders", "v1") is None


# --- through decide ----------------------------------------------------------------------------------


@pytest.fixture
def policy() -> Policy:
    return Policy.from_dict(
        {
            "version": 1,
            "rules": [
                {"id": "admin", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
                {"id": "read", "routes": ["GET /orders", "GET /orders/{orderId}"]},
                {"id": "files", "routes": ["GET /files/{name}"], "when": {"claims": {"sub": "{name}"}}},
                {"id": "no-secrets", "effect": "deny", "routes": ["ANY /orders/secret"]},
            ],
        }
    )


def who(sub: str = "u1", groups: tuple[str, ...] = ()) -> Principal:
    return Principal.from_claims({"sub": sub, "cognito:groups": list(groups), "token_use": "access"})


def test_decide_trailing_slash_like_none(policy: Policy) -> None:
    assert policy.decide(who(), "GET", "/orders/").allowed
    assert policy.decide(who(), "GET", "/orders/42/").allowed
    assert policy.decide(who(), "GET", "/orders/42/").path_params == {"orderId": "42"}
    # the deny holds on the slashed form too: no way around it with a slash
    admin = who(groups=("admin",))
    assert policy.decide(admin, "GET", "/orders/secret/").reason == "explicit_deny"
    assert not policy.decide(who(), "GET", "/orders//").allowed


@pytest.mark.parametrize("path", ["/orders/./42", "/orders/../orders", "//orders", "/orders/%2e%2e", "/a%zz"])
def test_decide_odd_segments_deny(policy: Policy, path: str) -> None:
    admin = who(groups=("admin",))
    decision = policy.decide(admin, "GET", path)
    assert not decision.allowed
    assert decision.reason == "no_matching_rule"


def test_decide_star_and_question_mark_are_plain_characters(policy: Policy) -> None:
    assert policy.decide(who(sub="*"), "GET", "/files/*").allowed  # the claim equals the segment
    assert not policy.decide(who(sub="u1"), "GET", "/files/*").allowed  # '*' is no wildcard
    assert not policy.decide(who(sub="a?c"), "GET", "/files/abc").allowed
    assert policy.decide(who(sub="a?c"), "GET", "/files/a%3Fc").allowed
    assert not policy.decide(who(sub="u1"), "GET", "/files/u?").allowed


@pytest.mark.parametrize("verb", ["PROPFIND", "TRACE", "CONNECT", "PURGE", "ANY", "any", "GE T", ""])
def test_decide_odd_verbs_deny_even_under_any(policy: Policy, verb: str) -> None:
    admin = who(groups=("admin",))
    decision = policy.decide(admin, verb, "/orders")
    assert not decision.allowed
    assert decision.reason == "no_matching_rule"
    assert "standard" in decision.explain() or "API Gateway routes" in decision.explain()


def test_decide_head_is_its_own_verb_at_the_gateway(policy: Policy) -> None:
    assert not policy.decide(who(), "HEAD", "/orders").allowed  # GET routes do not serve HEAD
    assert policy.decide(who(), framework_method("HEAD"), "/orders").allowed  # a framework's view
