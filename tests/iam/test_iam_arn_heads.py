"""MethodArn.parse remembers validated ``arn:...:{api_id}/{stage}/`` heads: the same answers, faster.

Every event of an authorizer repeats its API's head, so the components are validated once; what follows
the stage (verb and path, or a WebSocket route key) is still checked on every parse, and a remembered
head never lets anything through that a cold parse would refuse.
"""

from __future__ import annotations

import pytest

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
