"""The parser's written-out decoding of the payload and the signature, held to ``_segment_bytes``.

``TokenParser.parse`` decodes the header with ``_segment_bytes`` and the other two segments with the same
steps written out (docs/performance.md, fresh verify, fourth pass). For every length modulo 4 and every
last character of the base64url alphabet, in either segment, with the header remembered or not, the
parser must accept exactly what ``_segment_bytes`` accepts, with the same bytes, and refuse the rest
with the same reason and segment name.
"""

from __future__ import annotations

import json

import pytest

from cognito_authz.errors import MalformedTokenError
from cognito_authz.token import TokenParser, _segment_bytes, b64url_encode

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_HEADER = b64url_encode(json.dumps({"alg": "RS256", "kid": "k1"}).encode())
_SIGNATURE = b64url_encode(b"\x01\x02\x03")


def _payload_segments() -> list[str]:
    """Payload spellings of every length modulo 4 that decode to a JSON object when canonical."""
    segments = []
    for padding in range(3):  # byte lengths 0, 1, 2 modulo 3: segment lengths 0, 2, 3 modulo 4
        segments.append(b64url_encode(json.dumps({"sub": "u", "p": "x" * padding}).encode()))
    return segments


def _variants(segment: str) -> list[str]:
    """Every last character on the segment, and the segment one character longer (length 4k+1 too)."""
    cut = segment[:-1]
    return [cut + char for char in _ALPHABET] + [segment + char for char in _ALPHABET]


def _reference(segment: str, name: str) -> bytes | tuple[str, str | None]:
    try:
        return _segment_bytes(segment.encode("ascii"), name)
    except MalformedTokenError as exc:
        return (exc.reason, exc.details.get("segment"))


def _parsed_signature(parser: TokenParser, text: str) -> bytes | tuple[str, str | None]:
    try:
        return parser.parse(text).signature
    except MalformedTokenError as exc:
        return (exc.reason, exc.details.get("segment"))


@pytest.mark.parametrize("remembered", [False, True])
def test_the_signature_is_decoded_as_segment_bytes_decodes_it(remembered: bool) -> None:
    parser = TokenParser({"RS256"}, header_cache_size=64 if remembered else 0)
    payload = _payload_segments()[0]
    checked = 0
    for length in (254, 255, 256):  # segment lengths 2, 3 and 0 modulo 4
        for signature in _variants(b64url_encode(bytes(range(256)) * 2)[: length * 4 // 3 + 1]):
            expected = _reference(signature, "signature")
            assert _parsed_signature(parser, f"{_HEADER}.{payload}.{signature}") == expected
            checked += 1
    assert checked == 3 * 128


def _payload_outcome(parser: TokenParser, text: str) -> bytes | tuple[str, str | None]:
    """What the parser made of the payload: its claims re-read as the reference's bytes, or its refusal."""
    try:
        claims = parser.parse(text).claims
    except MalformedTokenError as exc:
        return (exc.reason, exc.details.get("segment"))
    return json.dumps(claims).encode()


@pytest.mark.parametrize("remembered", [False, True])
def test_the_payload_is_decoded_as_segment_bytes_decodes_it(remembered: bool) -> None:
    parser = TokenParser({"RS256"}, header_cache_size=64 if remembered else 0)
    accepted = refused = 0
    for payload in _payload_segments():
        for variant in _variants(payload):
            expected = _reference(variant, "payload")
            outcome = _payload_outcome(parser, f"{_HEADER}.{variant}.{_SIGNATURE}")
            if not isinstance(expected, bytes):
                assert outcome == expected
                refused += 1
            elif isinstance(outcome, bytes):
                assert json.loads(outcome) == json.loads(expected)
                accepted += 1
            else:  # decoded as the reference decodes it; those bytes are just not a JSON object
                assert outcome == ("bad_json", "payload")
    # The three canonical spellings, and any other last character that still ends a JSON object.
    assert accepted >= 3
    assert refused > 100
