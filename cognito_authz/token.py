"""Strict compact-JWS parsing: from an untrusted string to a header, claims and the bytes to verify.

Nothing here touches keys or the network; everything is rejected as early and as cheaply as possible
(docs/verifier.md lists each check): a length cap before any decoding, exactly three canonical
unpadded base64url segments, header and payload that are JSON objects without duplicate keys and without
NaN/Infinity, ``alg`` in the caller's allow-list, ``kid`` a non-empty string, and no header parameter that
would make the verifier fetch keys from the token itself, reinterpret the payload, or verify something nested.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, NoReturn

from pybase64 import b64decode

from cognito_authz.errors import (
    ForbiddenHeaderError,
    MalformedTokenError,
    TokenTooLargeError,
    UnsupportedAlgorithmError,
)

__all__ = [
    "DEFAULT_MAX_TOKEN_BYTES",
    "FORBIDDEN_HEADERS",
    "ParsedToken",
    "TokenParser",
    "b64url_encode",
    "parse_token",
]

DEFAULT_MAX_TOKEN_BYTES = 8192

#: Header parameters that are refused outright. ``jku``/``x5u``/``jwk``/``x5c`` would let the token pick
#: its own key; ``crit`` demands extensions we do not implement; ``b64: false`` (RFC 7797) and ``zip``
#: change what the signature covers; ``cty`` announces a nested token whose inner claims we never check.
FORBIDDEN_HEADERS = ("crit", "b64", "zip", "jku", "x5u", "jwk", "x5c", "cty")

# Lexical validation is a few C-level passes over bytes (deleting every allowed byte must leave nothing,
# which is several times faster than a regex over a kilobyte token); only on failure do we spend time
# finding out why, so the error can say "bearer_prefix" rather than a generic base64 complaint.
_BASE64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_LEXICON = _BASE64URL_ALPHABET + b"."
# pybase64 decodes with SIMD, about three times faster than binascii on a Cognito-sized payload and
# signature (measured in bench/; see docs/performance.md). It is not the validator: with altchars it also
# accepts '+' and '/' and non-canonical trailing bits, so the lexical pass and the canonical check here
# always run first and remain the only judges of what a segment may contain.
_URLSAFE = b"-_"
_PADDING = {2: b"==", 3: b"="}
_BEARER = re.compile(r"\s*bearer(\s|$)", re.IGNORECASE)

# For a segment of length 4k+2 (one trailing byte) the last character carries 4 unused bits, for 4k+3
# (two trailing bytes) it carries 2. A canonical encoder leaves them zero; anything else is a second
# spelling of the same bytes, which we refuse so that one token has exactly one string form.
_CANONICAL_LAST = {
    2: frozenset(b"AQgw"),
    3: frozenset(b"AEIMQUYcgkosw048"),
}


#: A lexically valid compact JWS whose signature has NOT been checked yet.
#:
#: A NamedTuple rather than a frozen dataclass: it is built on every fresh verify and costs a fraction.
#: The functional form with real types, not the class form: under ``from __future__ import
#: annotations`` the class form's string annotations become ``typing.ForwardRef``s, whose ``compile()``
#: initialises the interpreter's AST types (≈ 9 M instructions at cold start).
ParsedToken = NamedTuple(  # noqa: UP014 - the class form compiles at import (above)
    "ParsedToken",
    [
        ("header", Mapping[str, Any]),
        ("claims", dict[str, Any]),
        ("signing_input", bytes),
        ("signature", bytes),
        ("alg", str),
        ("kid", str),
    ],
)


def _fail(message: str, reason: str, **details: Any) -> NoReturn:
    raise MalformedTokenError(message, reason=reason, **details)


def _reject_constant(name: str) -> NoReturn:
    # json calls this for NaN, Infinity and -Infinity, which are not JSON at all.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 silently becomes inf otherwise
        raise ValueError("number out of range")
    return value


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        # Two parsers can disagree on which duplicate wins; the signer's intent is ambiguous.
        raise ValueError("duplicate key in JSON object")
    return obj


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_object, parse_constant=_reject_constant, parse_float=_finite_float
)


def _segment_bytes(segment: bytes, name: str) -> bytes:
    """Decode one segment already known to hold only base64url characters, refusing other spellings."""
    remainder = len(segment) % 4
    if remainder:
        if remainder == 1 or segment[-1] not in _CANONICAL_LAST[remainder]:
            _fail(f"{name} is not canonical base64url", "bad_base64", segment=name)
        segment += _PADDING[remainder]
    return b64decode(segment, altchars=_URLSAFE, validate=True)


# Not in typeshed, but a documented attribute of every JSONDecoder (json.scanner.make_scanner).
_SCAN_ONCE: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _json_object(raw: bytes, name: str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
        if text[:1] == "{":
            # The usual shape: call the C scanner directly, skipping decode()'s whitespace regexes. Only
            # when something follows the object does the full decoder judge (whitespace is legal JSON).
            value, end = _SCAN_ONCE(text, 0)
            if end != len(text):
                value = _DECODER.decode(text)
        else:
            value = _DECODER.decode(text)
    except (ValueError, RecursionError, StopIteration) as exc:  # UnicodeDecodeError is a ValueError too
        raise MalformedTokenError(f"{name} is not valid JSON", reason="bad_json", segment=name) from exc
    if not isinstance(value, dict):
        _fail(f"{name} is not a JSON object", "bad_json", segment=name)
    return value


def _diagnose_lexical(token: str) -> NoReturn:
    """The fast match failed: say why, without echoing any part of the token."""
    if _BEARER.match(token):
        _fail("token carries an auth scheme prefix; pass the bare token", "bearer_prefix")
    segments = token.split(".")
    if len(segments) != 3:
        _fail(
            f"token has {len(segments)} segments, a compact JWS has 3", "bad_segments", segments=len(segments)
        )
    _fail("token contains characters outside unpadded base64url", "bad_base64")


def _checked_header(raw: bytes, algorithms: Collection[str]) -> tuple[Mapping[str, Any], str, str]:
    header = _json_object(raw, "header")
    alg = header.get("alg")
    if not isinstance(alg, str):
        _fail("header alg is missing or not a string", "bad_header", field="alg")
    if alg not in algorithms:
        raise UnsupportedAlgorithmError(
            f"alg {alg[:16]!r} is not allowed (allowed: {', '.join(sorted(algorithms))})", alg=alg[:16]
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        _fail("header kid is missing, empty or not a string", "bad_header", field="kid")
    for name in FORBIDDEN_HEADERS:
        if name in header:
            raise ForbiddenHeaderError(f"header parameter {name!r} is not accepted", header=name)
    typ = header.get("typ")
    if typ is not None and not isinstance(typ, str):
        _fail("header typ is not a string", "bad_header", field="typ")
    return MappingProxyType(header), alg, kid


_new_tuple = tuple.__new__


class TokenParser:
    """:func:`parse_token` bound to an allow-list and a size cap, remembering headers it has accepted.

    A user pool signs with one or two keys, so nearly every token carries one of a handful of header
    segments; an accepted header segment is remembered (exact bytes -> checked header) and its base64 and
    JSON work is skipped next time. Only headers that passed every check are stored, at most
    ``header_cache_size`` of them (the memory is dropped wholesale when full, so a flood of distinct
    headers costs nothing but the misses).
    """

    __slots__ = ("_header_cache_size", "_headers", "algorithms", "max_bytes")

    def __init__(
        self,
        algorithms: Collection[str],
        *,
        max_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        header_cache_size: int = 64,
    ) -> None:
        self.algorithms = frozenset(algorithms)
        self.max_bytes = max_bytes
        self._header_cache_size = header_cache_size
        self._headers: dict[bytes, tuple[Mapping[str, Any], str, str]] = {}

    def parse(self, token: object) -> ParsedToken:
        """Parse ``token`` strictly, in the order the module docstring lists; raise a :class:`TokenError`."""
        if not isinstance(token, str):
            _fail(f"token must be a str, not {type(token).__name__}", "non_string_token")
        if not token:
            _fail("token is empty", "empty_token")
        if len(token) > self.max_bytes:
            raise TokenTooLargeError(
                f"token longer than {self.max_bytes} bytes", length=len(token), limit=self.max_bytes
            )
        if not token.isascii():
            _diagnose_lexical(token)
        raw = token.encode("ascii")
        if raw.translate(None, _LEXICON):  # something besides base64url characters and dots
            _diagnose_lexical(token)
        segments = raw.split(b".")
        if len(segments) != 3:
            _diagnose_lexical(token)
        header_b64, payload_b64, signature_b64 = segments

        # Every segment is checked for canonical base64url before any JSON is read.
        known = self._headers.get(header_b64)
        header_raw = _segment_bytes(header_b64, "header") if known is None else b""
        payload_raw = _segment_bytes(payload_b64, "payload")
        signature = _segment_bytes(signature_b64, "signature")
        if known is None:
            known = _checked_header(header_raw, self.algorithms)
            if self._header_cache_size:
                if len(self._headers) >= self._header_cache_size:
                    self._headers.clear()
                self._headers[header_b64] = known
        header, alg, kid = known

        claims = _json_object(payload_raw, "payload")
        signing_input = raw[: len(header_b64) + 1 + len(payload_b64)]
        # tuple.__new__ directly: the NamedTuple's generated __new__ is one more Python call per verify.
        return _new_tuple(ParsedToken, (header, claims, signing_input, signature, alg, kid))


def parse_token(
    token: object,
    *,
    algorithms: Collection[str],
    max_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
) -> ParsedToken:
    """Parse ``token`` strictly, in the order the module docstring lists, raising a :class:`TokenError`.

    ``algorithms`` is the allow-list for the header ``alg``; ``max_bytes`` caps the token length before
    any decoding happens. A verifier keeps a :class:`TokenParser` instead, which also remembers headers.
    """
    return TokenParser(algorithms, max_bytes=max_bytes, header_cache_size=0).parse(token)


def b64url_encode(data: bytes) -> str:
    """Canonical unpadded base64url, the encoding every segment must use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
