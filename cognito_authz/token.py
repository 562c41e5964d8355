"""Strict compact-JWS parsing: from an untrusted string to a header, claims and the bytes to verify.

Nothing here touches keys or the network; everything is rejected as early and as cheaply as possible
(DESIGN.md section 4): a length cap before any decoding, exactly three canonical unpadded base64url
segments, header and payload that are JSON objects without duplicate keys and without NaN/Infinity,
``alg`` in the caller's allow-list, ``kid`` a non-empty string, and no header parameter that would make the
verifier fetch keys from the token itself, reinterpret the payload, or verify something nested.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, NoReturn

from cognito_authz.errors import (
    ForbiddenHeaderError,
    MalformedTokenError,
    TokenTooLargeError,
    UnsupportedAlgorithmError,
)

__all__ = ["DEFAULT_MAX_TOKEN_BYTES", "FORBIDDEN_HEADERS", "ParsedToken", "b64url_encode", "parse_token"]

DEFAULT_MAX_TOKEN_BYTES = 8192

#: Header parameters that are refused outright. ``jku``/``x5u``/``jwk``/``x5c`` would let the token pick
#: its own key; ``crit`` demands extensions we do not implement; ``b64: false`` (RFC 7797) and ``zip``
#: change what the signature covers; ``cty`` announces a nested token whose inner claims we never check.
FORBIDDEN_HEADERS = ("crit", "b64", "zip", "jku", "x5u", "jwk", "x5c", "cty")

# One C-level pass decides whether the token is lexically well formed; only on failure do we spend time
# finding out why (so the error can say "bearer_prefix" rather than a generic base64 complaint).
_COMPACT_JWS = re.compile(r"([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)")
_BEARER = re.compile(r"\s*bearer(\s|$)", re.IGNORECASE)

# For a segment of length 4k+2 (one trailing byte) the last character carries 4 unused bits, for 4k+3
# (two trailing bytes) it carries 2. A canonical encoder leaves them zero; anything else is a second
# spelling of the same bytes, which we refuse so that one token has exactly one string form.
_CANONICAL_LAST = {
    2: frozenset("AQgw"),
    3: frozenset("AEIMQUYcgkosw048"),
}


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """A lexically valid compact JWS whose signature has NOT been checked yet."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes
    alg: str
    kid: str


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


def _segment_bytes(segment: str, name: str) -> bytes:
    remainder = len(segment) % 4
    if remainder:
        if remainder == 1 or segment[-1] not in _CANONICAL_LAST[remainder]:
            _fail(f"{name} is not canonical base64url", "bad_base64", segment=name)
        segment += "=" * (4 - remainder)
    return base64.urlsafe_b64decode(segment)


def _json_object(raw: bytes, name: str) -> dict[str, Any]:
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
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


def parse_token(
    token: object,
    *,
    algorithms: Collection[str],
    max_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
) -> ParsedToken:
    """Parse ``token`` strictly, in the order of DESIGN.md section 4, raising a :class:`TokenError`.

    ``algorithms`` is the allow-list for the header ``alg``; ``max_bytes`` caps the token length before
    any decoding happens.
    """
    if not isinstance(token, str):
        _fail(f"token must be a str, not {type(token).__name__}", "non_string_token")
    if not token:
        _fail("token is empty", "empty_token")
    if len(token) > max_bytes:
        raise TokenTooLargeError(f"token longer than {max_bytes} bytes", length=len(token), limit=max_bytes)
    match = _COMPACT_JWS.fullmatch(token)
    if match is None:
        _diagnose_lexical(token)
    header_b64, payload_b64, signature_b64 = match.groups()
    header_raw = _segment_bytes(header_b64, "header")
    payload_raw = _segment_bytes(payload_b64, "payload")
    signature = _segment_bytes(signature_b64, "signature")

    header = _json_object(header_raw, "header")
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

    claims = _json_object(payload_raw, "payload")
    signing_input = token[: len(header_b64) + 1 + len(payload_b64)].encode("ascii")
    return ParsedToken(header, claims, signing_input, signature, alg, kid)


def b64url_encode(data: bytes) -> str:
    """Canonical unpadded base64url, the encoding every segment must use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
