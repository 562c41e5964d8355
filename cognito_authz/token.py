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

# Lexical validation on the happy path is split between C-level passes: ``isascii``, three memchr scans
# refusing '=', '+' and '/', the split on dots, and pybase64's validate=True, which refuses every other
# byte outside the base64url alphabet (tests/test_token_parsing.py holds the two to the same verdicts
# for every byte). Only when something is refused do we run the exact pass (deleting every allowed byte
# must leave nothing) and spend time finding out why, so the error can say "bearer_prefix" rather than a
# generic base64 complaint, and the reasons come in the same order as if that pass had run first.
_BASE64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_LEXICON = _BASE64URL_ALPHABET + b"."
# pybase64 decodes with SIMD, about three times faster than binascii on a Cognito-sized payload and
# signature (measured in bench/; see docs/performance.md). With altchars it also accepts '+', '/', '='
# padding and non-canonical trailing bits: the memchr scans and the canonical check here refuse those
# first, so what it accepts on top of them is exactly the base64url alphabet.
_URLSAFE = b"-_"
# By length modulo 4 (1 is no length a byte string encodes to); adding b"" returns the segment itself.
_PADDING = {0: b"", 2: b"==", 3: b"="}
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


#: :class:`ParsedToken`'s fields as a plain tuple (:meth:`TokenParser.parts`).
_Parts = tuple[Mapping[str, Any], dict[str, Any], bytes, bytes, str, str]


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
    # Positional: keyword arguments to a C function cost more than the decode of a short segment.
    return b64decode(segment, _URLSAFE, True)  # altchars, validate


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


def _lexical_failure(token: str, raw: bytes, exc: MalformedTokenError | ValueError) -> NoReturn:
    """A segment failed to decode: report it exactly as the full lexical pass would have, first.

    The fast path in :meth:`TokenParser.parse` leaves the alphabet to pybase64; when it refuses, the
    token is judged by the original pass (deleting every allowed byte must leave nothing), so the error
    and its order are the same as if that pass had run before any decoding.
    """
    if raw.translate(None, _LEXICON):  # something besides base64url characters and dots
        _diagnose_lexical(token)
    if isinstance(exc, MalformedTokenError):  # canonical-form failure of a lexically valid segment
        raise exc
    # Unreachable for a lexically valid segment of a possible length; refused all the same.
    raise MalformedTokenError("token is not base64url", reason="bad_base64") from exc


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
        # tuple.__new__ directly: the NamedTuple's generated __new__ is one more Python call.
        return _new_tuple(ParsedToken, self.parts(token))

    def parts(self, token: object) -> _Parts:
        """:meth:`parse`, returning a plain tuple of :class:`ParsedToken`'s fields in their order.

        What the verifier unpacks at once: a ``ParsedToken`` built and dropped on every fresh verify
        cost ≈ 1.4k instructions more than the plain tuple (a tuple subclass instance through
        ``tuple.__new__``).
        """
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
        # The three characters pybase64 would accept besides the base64url alphabet, refused first: str
        # membership is a memchr (bytes membership and bytes.split are per-byte loops, several times
        # dearer). pybase64's validate=True refuses everything else, and any refusal is judged again by
        # the exact lexical pass (_lexical_failure).
        if "=" in token or "+" in token or "/" in token:
            _diagnose_lexical(token)
        first = token.find(".")
        second = token.find(".", first + 1)
        if first < 0 or second < 0 or token.find(".", second + 1) >= 0:
            _diagnose_lexical(token)
        raw = token.encode("ascii")
        header_b64 = raw[:first]
        payload_b64 = raw[first + 1 : second]
        signature_b64 = raw[second + 1 :]

        # Every segment is checked for canonical base64url before any JSON is read.
        known = self._headers.get(header_b64)
        try:
            header_raw = _segment_bytes(header_b64, "header") if known is None else b""
            # The payload and the signature: _segment_bytes written out (its call cost more than its
            # checks, ≈ 800 instructions a segment). tests/test_token_parsing.py and
            # tests/test_segment_decoding.py hold both to _segment_bytes for every length and last character.
            rest = len(payload_b64) & 3
            if rest and (rest == 1 or payload_b64[-1] not in _CANONICAL_LAST[rest]):
                _fail("payload is not canonical base64url", "bad_base64", segment="payload")
            payload_raw = b64decode(payload_b64 + _PADDING[rest], _URLSAFE, True)
            rest = len(signature_b64) & 3
            if rest and (rest == 1 or signature_b64[-1] not in _CANONICAL_LAST[rest]):
                _fail("signature is not canonical base64url", "bad_base64", segment="signature")
            signature = b64decode(signature_b64 + _PADDING[rest], _URLSAFE, True)
        except (MalformedTokenError, ValueError) as exc:  # binascii.Error is a ValueError
            _lexical_failure(token, raw, exc)
        if known is None:
            known = _checked_header(header_raw, self.algorithms)
            if self._header_cache_size:
                if len(self._headers) >= self._header_cache_size:
                    self._headers.clear()
                self._headers[header_b64] = known
        header, alg, kid = known

        claims = _json_object(payload_raw, "payload")
        return header, claims, raw[:second], signature, alg, kid


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
