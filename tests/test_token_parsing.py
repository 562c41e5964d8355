"""Strict compact-JWS parsing (cognito_authz.token): lexical form, JSON, header rules, and properties."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cognito_authz.errors import (
    REASONS,
    ForbiddenHeaderError,
    MalformedTokenError,
    TokenError,
    TokenTooLargeError,
    UnsupportedAlgorithmError,
)
from cognito_authz.token import FORBIDDEN_HEADERS, ParsedToken, TokenParser, b64url_encode, parse_token

ALGS = frozenset({"RS256"})
HEADER = {"kid": "k1", "alg": "RS256"}
CLAIMS = {"sub": "u", "exp": 2, "iat": 1}
B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def seg(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return b64url_encode(raw)


def token(header: Any = HEADER, claims: Any = CLAIMS, signature: bytes = b"\x01\x02\x03") -> str:
    return f"{seg(header)}.{seg(claims)}.{b64url_encode(signature)}"


def parse(text: object, **kwargs: Any) -> ParsedToken:
    return parse_token(text, algorithms=kwargs.pop("algorithms", ALGS), **kwargs)


def expect(text: object, cls: type[TokenError], reason: str, **kwargs: Any) -> TokenError:
    with pytest.raises(cls) as info:
        parse(text, **kwargs)
    assert info.value.reason == reason
    assert reason in REASONS
    return info.value


# -- the happy path --------------------------------------------------------------------------------


def test_parses_header_claims_signature_and_signing_input() -> None:
    text = token(signature=b"sig-bytes")
    parsed = parse(text)
    assert parsed.header == HEADER
    assert parsed.claims == CLAIMS
    assert parsed.signature == b"sig-bytes"
    assert parsed.alg == "RS256"
    assert parsed.kid == "k1"
    assert parsed.signing_input == text.rsplit(".", 1)[0].encode()


@pytest.mark.parametrize("typ", ["JWT", "at+jwt"])
def test_string_typ_is_accepted(typ: str) -> None:
    assert parse(token({**HEADER, "typ": typ})).header["typ"] == typ


def test_exactly_max_bytes_is_accepted_one_more_is_not() -> None:
    text = token(claims={**CLAIMS, "pad": "x" * 500})
    assert parse(text, max_bytes=len(text)).claims["pad"] == "x" * 500
    expect(text, TokenTooLargeError, "token_too_large", max_bytes=len(text) - 1)


# -- input type, emptiness, size --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [None, b"a.b.c", bytearray(b"a.b.c"), 0, 1.5, ["a.b.c"], {"t": 1}, object()]
)
def test_non_string_input(value: object) -> None:
    expect(value, MalformedTokenError, "non_string_token")


def test_empty_input() -> None:
    expect("", MalformedTokenError, "empty_token")


@pytest.mark.parametrize("limit", [64, 1024, 8192])
def test_length_cap_is_checked_before_anything_else(limit: int) -> None:
    # One byte too long, and not even well formed: the cap must win before any decoding.
    err = expect("Bearer " + "x" * limit, TokenTooLargeError, "token_too_large", max_bytes=limit)
    assert err.limit == limit


# -- lexical form -----------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["Bearer ", "bearer ", "BEARER ", "Bearer\t", "  Bearer  "])
def test_bearer_prefix_is_named(prefix: str) -> None:
    expect(prefix + token(), MalformedTokenError, "bearer_prefix")


@pytest.mark.parametrize("count", [1, 2, 4, 5, 6])
def test_segment_count(count: int) -> None:
    parts = [seg(HEADER), seg(CLAIMS), "c2ln", "ZW5j", "dGFn", "eHg"][:count]
    err = expect(".".join(parts), MalformedTokenError, "bad_segments")
    assert err.segments == count


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda t: t + "=", id="padding"),
        pytest.param(lambda t: t.replace(".", "=.", 1), id="padding-in-header"),
        pytest.param(lambda t: t.replace("e", "+", 1), id="plus"),
        pytest.param(lambda t: t.replace("e", "/", 1), id="slash"),
        pytest.param(lambda t: " " + t, id="leading-space"),
        pytest.param(lambda t: t + "\n", id="trailing-newline"),
        pytest.param(lambda t: t.replace(".", ". ", 1), id="inner-space"),
        pytest.param(lambda t: t[:10] + "\u00e9" + t[11:], id="non-ascii"),
    ],
)
def test_non_base64url_characters(mutate: Any) -> None:
    expect(mutate(token()), MalformedTokenError, "bad_base64")


@pytest.mark.parametrize("remembered", [False, True], ids=["fresh-parser", "header-remembered"])
@pytest.mark.parametrize("segment", [0, 1, 2])
def test_every_byte_outside_the_alphabet_is_refused_in_every_segment(segment: int, remembered: bool) -> None:
    # The happy path leaves most of the alphabet check to pybase64 (after refusing '=', '+' and '/'):
    # every other ASCII byte, at the start, middle and end of each segment, must still be bad_base64,
    # with a fresh parser and with the header segment already remembered by the verifier's parser.
    good = token(signature=b"signature-bytes")
    parts = good.split(".")
    parser = TokenParser(ALGS)
    outside = [chr(code) for code in range(128) if chr(code) not in B64URL_ALPHABET + "."]
    for char in outside:
        for index in (0, len(parts[segment]) // 2, len(parts[segment]) - 1):
            mutated = list(parts)
            mutated[segment] = parts[segment][:index] + char + parts[segment][index + 1 :]
            text = ".".join(mutated)
            if remembered:
                parser.parse(good)
            with pytest.raises(MalformedTokenError) as info:
                (parser.parse if remembered else parse)(text)
            assert info.value.reason == "bad_base64", (char, index)
            assert "segment" not in info.value.details  # the lexical verdict, not a segment's


@pytest.mark.parametrize("segment", [0, 1, 2])
def test_segment_of_impossible_length(segment: int) -> None:
    parts = token().split(".")
    # Pad to a length of 4k+1, which no byte string encodes to.
    parts[segment] += "A" * ((1 - len(parts[segment])) % 4)
    assert len(parts[segment]) % 4 == 1
    expect(".".join(parts), MalformedTokenError, "bad_base64")


def _with_dirty_last_char(segment: str) -> str:
    """The same bytes spelled with non-zero unused bits in the last character."""
    last = B64URL_ALPHABET.index(segment[-1])
    unused = 4 if len(segment) % 4 == 2 else 2  # 1 or 2 trailing bytes
    dirty = B64URL_ALPHABET[last | (1 << (unused - 1))]
    # Sanity: the lenient decoder still reads the same bytes, so only a canonicality check can tell.
    lenient = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    assert base64.urlsafe_b64decode(segment[:-1] + dirty + "=" * (-len(segment) % 4)) == lenient
    return segment[:-1] + dirty


@pytest.mark.parametrize("segment", [0, 1, 2])
@pytest.mark.parametrize("trailing", [1, 2])
def test_non_canonical_trailing_bits(segment: int, trailing: int) -> None:
    # Build segments whose byte length leaves 1 or 2 trailing bytes, so there are unused bits.
    header = dict(HEADER)
    claims = dict(CLAIMS)
    signature = b"s" * (30 + trailing)
    while len(json.dumps(header)) % 3 != trailing:
        header["x"] = header.get("x", "") + "a"
    while len(json.dumps(claims)) % 3 != trailing:
        claims["x"] = claims.get("x", "") + "a"
    parts = token(header, claims, signature).split(".")
    assert parse(".".join(parts))  # the canonical spelling is fine
    parts[segment] = _with_dirty_last_char(parts[segment])
    expect(".".join(parts), MalformedTokenError, "bad_base64")


# -- JSON -------------------------------------------------------------------------------------------


BAD_JSON = [
    pytest.param(b"", id="empty"),
    pytest.param(b"not json", id="garbage"),
    pytest.param(b"[1, 2]", id="array"),
    pytest.param(b'"a string"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b"null", id="null"),
    pytest.param(b'{"a": 1,}', id="trailing-comma"),
    pytest.param(b'{"a": NaN}', id="nan"),
    pytest.param(b'{"a": Infinity}', id="infinity"),
    pytest.param(b'{"a": -Infinity}', id="minus-infinity"),
    pytest.param(b'{"a": 1e400}', id="float-overflow"),
    pytest.param(b'{"a": 1, "a": 1}', id="duplicate-same-value"),
    pytest.param(b'{"a": {"b": 1, "b": 2}}', id="duplicate-nested"),
    pytest.param(b'{"a": "\xff\xfe"}', id="not-utf8"),
    pytest.param(b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}", id="deep-nesting"),
    pytest.param(b'{"a": ' + b"9" * 5000 + b"}", id="huge-integer-literal"),
    pytest.param(b'{"a": 1} {"b": 2}', id="two-documents"),
]


@pytest.mark.parametrize("raw", BAD_JSON)
def test_header_must_be_a_strict_json_object(raw: bytes) -> None:
    err = expect(
        f"{b64url_encode(raw)}.{seg(CLAIMS)}.AQID", MalformedTokenError, "bad_json", max_bytes=1 << 16
    )
    assert err.segment == "header"


@pytest.mark.parametrize("raw", BAD_JSON)
def test_payload_must_be_a_strict_json_object(raw: bytes) -> None:
    err = expect(
        f"{seg(HEADER)}.{b64url_encode(raw)}.AQID", MalformedTokenError, "bad_json", max_bytes=1 << 16
    )
    assert err.segment == "payload"


def test_duplicate_header_kid_with_different_values() -> None:
    raw = b'{"kid": "k1", "alg": "RS256", "kid": "k2"}'
    expect(f"{b64url_encode(raw)}.{seg(CLAIMS)}.AQID", MalformedTokenError, "bad_json")


# -- header rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", [None, 256, True, ["RS256"], {"alg": "RS256"}])
def test_alg_must_be_a_string(alg: Any) -> None:
    header = {"kid": "k1"} if alg is None else {"kid": "k1", "alg": alg}
    err = expect(token(header), MalformedTokenError, "bad_header")
    assert err.field == "alg"


@pytest.mark.parametrize(
    "alg", ["none", "None", "NONE", "HS256", "RS384", "RS512", "PS256", "ES256", "rs256", ""]
)
def test_alg_outside_the_allow_list(alg: str) -> None:
    expect(token({"kid": "k1", "alg": alg}), UnsupportedAlgorithmError, "unsupported_alg")


def test_allow_list_is_the_callers() -> None:
    parsed = parse(token({"kid": "k1", "alg": "RS512"}), algorithms={"RS256", "RS512"})
    assert parsed.alg == "RS512"


@pytest.mark.parametrize("kid", [None, "", 7, True, ["k1"], {"k": 1}])
def test_kid_must_be_a_non_empty_string(kid: Any) -> None:
    header = {"alg": "RS256"} if kid is None else {"alg": "RS256", "kid": kid}
    err = expect(token(header), MalformedTokenError, "bad_header")
    assert err.field == "kid"


@pytest.mark.parametrize("name", FORBIDDEN_HEADERS)
@pytest.mark.parametrize("value", ["JWT", False, ["exp"], {"kty": "RSA"}, None])
def test_forbidden_header_parameters(name: str, value: Any) -> None:
    err = expect(token({**HEADER, name: value}), ForbiddenHeaderError, "forbidden_header")
    assert err.header == name


@pytest.mark.parametrize("typ", [1, None, ["JWT"]])
def test_typ_must_be_a_string(typ: Any) -> None:
    header = {**HEADER, "typ": typ}
    if typ is None:
        assert parse(token(header))  # null typ is absent
        return
    err = expect(token(header), MalformedTokenError, "bad_header")
    assert err.field == "typ"


def test_checks_run_in_the_documented_order() -> None:
    # Bad base64 in the signature beats a bad alg in the header: all segments are lexical first.
    expect(token({"alg": "none"}).rsplit(".", 1)[0] + ".A", MalformedTokenError, "bad_base64")
    # alg beats kid, kid beats forbidden headers, header beats payload.
    expect(token({"alg": "HS256", "jku": "x"}), UnsupportedAlgorithmError, "unsupported_alg")
    expect(token({"alg": "RS256", "jku": "x"}), MalformedTokenError, "bad_header")
    expect(
        f"{seg({**HEADER, 'x5u': 'u'})}.{b64url_encode(b'[')}.AQID", ForbiddenHeaderError, "forbidden_header"
    )


def test_messages_never_echo_the_token() -> None:
    secret_claims = {"sub": "S3CRETSUBJECTVALUE", "exp": 1, "iat": 1}
    samples = [
        "Bearer " + token(claims=secret_claims),
        token({"alg": "none", "kid": "k"}, secret_claims),
        token(claims=secret_claims) + ".x",
        token(claims=secret_claims) + "=",
    ]
    for text in samples:
        with pytest.raises(TokenError) as info:
            parse(text)
        rendered = str(info.value) + repr(info.value) + repr(info.value.details)
        for part in text.replace("Bearer ", "").split("."):
            if len(part) > 8:
                assert part not in rendered


# -- properties -------------------------------------------------------------------------------------


def outcome(text: object) -> str:
    """``"ok"`` or the reason code; anything but a TokenError propagates and fails the test."""
    try:
        parse(text)
    except TokenError as exc:
        return exc.reason
    return "ok"


@given(st.text(max_size=300))
def test_arbitrary_text_only_raises_token_errors(text: str) -> None:
    assert outcome(text) in {"ok", *REASONS}


@given(st.from_regex(r"[A-Za-z0-9_\-]{0,40}\.[A-Za-z0-9_\-]{0,40}\.[A-Za-z0-9_\-]{0,40}", fullmatch=True))
def test_arbitrary_base64url_shapes_only_raise_token_errors(text: str) -> None:
    assert outcome(text) in {"ok", *REASONS}


@given(st.binary(max_size=200))
def test_every_byte_string_has_exactly_one_accepted_spelling(data: bytes) -> None:
    canonical = b64url_encode(data)
    prefix = token().rsplit(".", 1)[0]
    assert parse(f"{prefix}.{canonical}").signature == data
    # Only the last character can carry unused bits; try every spelling of the last two.
    for index in range(max(0, len(canonical) - 2), len(canonical)):
        for char in B64URL_ALPHABET:
            variant = canonical[:index] + char + canonical[index + 1 :]
            if variant == canonical:
                continue
            text = f"{prefix}.{variant}"
            if outcome(text) == "ok":
                assert parse(text).signature != data  # another accepted spelling must mean other bytes
            else:
                assert outcome(text) == "bad_base64"


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=6,
    )
)
def test_any_json_object_payload_round_trips(claims: dict[str, Any]) -> None:
    assert parse(token(claims=claims), max_bytes=1 << 16).claims == claims


# -- the verifier's parser remembers accepted headers ----------------------------------------------


def test_remembered_header_changes_nothing_observable() -> None:
    parser = TokenParser({"RS256"})
    first, second = token(claims={**CLAIMS, "n": 1}), token(claims={**CLAIMS, "n": 2})
    assert parser.parse(first).claims["n"] == 1
    parsed = parser.parse(second)  # same header segment: served from memory
    assert (parsed.alg, parsed.kid, dict(parsed.header)) == ("RS256", "k1", HEADER)
    assert parsed.claims["n"] == 2
    with pytest.raises(TypeError):
        parsed.header["alg"] = "none"  # type: ignore[index]  # shared between tokens, so read-only


def test_rejected_headers_are_never_remembered() -> None:
    parser = TokenParser({"RS256"})
    bad = token({"kid": "k1", "alg": "RS256", "jku": "https://x"})
    for _ in range(3):
        with pytest.raises(ForbiddenHeaderError):
            parser.parse(bad)


def test_a_remembered_header_does_not_excuse_the_other_segments() -> None:
    parser = TokenParser({"RS256"})
    good = token()
    parser.parse(good)
    head, payload, signature = good.split(".")
    with pytest.raises(MalformedTokenError) as info:
        parser.parse(f"{head}.{payload}=.{signature}")
    assert info.value.reason == "bad_base64"
    with pytest.raises(MalformedTokenError) as info:
        parser.parse(f"{head}.{b64url_encode(b'[1]')}.{signature}")
    assert info.value.reason == "bad_json"


def test_allow_lists_are_per_parser() -> None:
    rs512 = token({"kid": "k1", "alg": "RS512"})
    assert TokenParser({"RS256", "RS512"}).parse(rs512).alg == "RS512"
    with pytest.raises(UnsupportedAlgorithmError):
        TokenParser({"RS256"}).parse(rs512)


def test_header_memory_is_bounded() -> None:
    parser = TokenParser({"RS256"}, header_cache_size=2)
    for index in range(10):
        assert parser.parse(token({"kid": f"k{index}", "alg": "RS256"})).kid == f"k{index}"
        assert len(parser._headers) <= 2
