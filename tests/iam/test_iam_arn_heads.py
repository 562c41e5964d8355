"""MethodArn.parse remembers validated ``arn:...:{api_id}/{stage}/`` heads: the same answers, faster.

Every event of an authorizer repeats its API's head, so the components are validated once; what follows
the stage (verb and path, or a WebSocket route key) is still checked on every parse, and a remembered
head never lets anything through that a cold parse would refuse.
"""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.errors import EventError
from cognito_authz.iam import MethodArn, arn

HEAD = "arn:aws:execute-api:eu-west-1:123456789012:k7xq2v9d1a/prod/"


@pytest.fixture(autouse=True)
def _cold() -> None:
    arn._KNOWN_HEADS.clear()


@pytest.mark.parametrize(
    "rest",
    [
        "GET/orders/42",
        "GET/",
        "POST/a/b/c",
        "$connect",
        "PATCH/x%2Fy",
        "get/orders",
        "GET",
        "GET/a b",
        "GET/a\tb",
        "GET/\x7f",
        "GET/\x00",
        "GET/caf\u00e9",
        "GET/a\u2028b",
        "$con\nnect",
        "",
        "$bad key",
    ],
)
def test_a_remembered_head_parses_exactly_as_a_cold_one(rest: str) -> None:
    def parse() -> object:
        try:
            return MethodArn.parse(HEAD + rest)
        except EventError as exc:
            return ("error", exc.reason, exc.message)

    cold = parse()
    MethodArn.parse(HEAD + "GET/warm")  # the head is now remembered
    assert HEAD in arn._KNOWN_HEADS
    assert parse() == cold


def test_invalid_heads_are_never_remembered() -> None:
    for bad in (
        "arn:aws:execute-api:eu-west-1:12345:k7/prod/GET/x",
        "arn:aws:execute-api:EU:123456789012:k7/prod/GET/x",
        "arn:aws:s3:eu-west-1:123456789012:k7/prod/GET/x",
        "arn:aws:execute-api:eu-west-1:123456789012:k7/pr od/GET/x",
    ):
        with pytest.raises(EventError):
            MethodArn.parse(bad)
    assert arn._KNOWN_HEADS == {}


def test_the_table_stays_bounded() -> None:
    for n in range(3 * arn._KNOWN_HEADS_MAX):
        parsed = MethodArn.parse(f"arn:aws:execute-api:eu-west-1:123456789012:api{n}/prod/GET/x")
        assert parsed.api_id == f"api{n}"
        assert len(arn._KNOWN_HEADS) <= arn._KNOWN_HEADS_MAX


_VERBS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PURGE", "X"])
_SEGMENT = st.text(alphabet="az09-_.~%$*?:{}", max_size=6)


@st.composite
def _arn_texts(draw: st.DrawFn) -> str:
    head = draw(
        st.sampled_from(
            [
                HEAD,
                "arn:aws-cn:execute-api:cn-north-1:000000000000:Api9/$default/",
                "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:z/v1.2_x~y-z/",
            ]
        )
    )
    if draw(st.booleans()):
        return head + draw(st.sampled_from(["$connect", "$disconnect", "$default", "sendMessage"]))
    return head + draw(_VERBS) + "/" + "/".join(draw(st.lists(_SEGMENT, max_size=4)))


@settings(max_examples=500, deadline=None)
@given(_arn_texts(), st.booleans())
def test_a_parsed_arn_is_its_text_and_what_its_components_build(text: str, warm: bool) -> None:
    # `arn` of a parsed ARN is the text it was parsed from, kept rather than rebuilt: it must be exactly
    # what the components build, and the kept text must change nothing else about the value.
    if not warm:
        arn._KNOWN_HEADS.clear()
    parsed = MethodArn.parse(text)
    rebuilt = MethodArn(
        parsed.partition, parsed.region, parsed.account, parsed.api_id, parsed.stage, parsed.verb, parsed.path
    )
    assert parsed.arn == text == rebuilt.arn == str(parsed)
    assert parsed.prefix == rebuilt.prefix == text[: len(parsed.prefix)]
    assert parsed.prefix.endswith(f":{parsed.api_id}/{parsed.stage}/")
    assert parsed == rebuilt
    assert hash(parsed) == hash(rebuilt)
    assert repr(parsed) == repr(rebuilt)
    for copied in (copy.copy(parsed), copy.deepcopy(parsed), pickle.loads(pickle.dumps(parsed))):
        assert copied == parsed
        assert copied.arn == text
        assert copied.prefix == parsed.prefix


@pytest.mark.parametrize("warm", [False, True])
@pytest.mark.parametrize(
    ("verb", "valid"),
    [
        *((verb, True) for verb in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")),
        ("PURGE", True),
        ("A" * 16, True),
        ("A" * 17, False),
        ("get", False),
        ("Get", False),
        ("GET1", False),
        ("GÉT", False),
        ("*", False),
        ("", False),
    ],
)
def test_verbs_are_upper_case_letters_whether_or_not_standard(verb: str, valid: bool, warm: bool) -> None:
    # Standard verbs skip the regex (a set lookup); every other verb is still held to it.
    if warm:
        MethodArn.parse(HEAD + "GET/warm")
    text = HEAD + verb + "/orders"
    if valid:
        assert MethodArn.parse(text).verb == verb
    else:
        with pytest.raises(EventError) as caught:
            MethodArn.parse(text)
        assert caught.value.reason == "invalid_method_arn"
