"""``plainly_refuses`` (the authorizer's screen before its reference check of a denied request's document)
answers ``True`` only where ``iam_allows`` answers ``False`` without raising.

The authorizer re-checks every denied request's principal-wide document with ``iam_allows``; when no
Allow Resource of a plain document can even begin like the request's ARN, ``plainly_refuses`` says so and
the walk is skipped. A ``True`` where ``iam_allows`` would allow, or would raise on a malformed document,
would let a defence be skipped, so random documents (plain ones, and ones broken in every way the screen
looks at) and random ARNs over the characters that matter must never disagree in that direction. Plain
documents whose Allows cannot match must also be recognised, or the screen would never save anything.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.errors import PolicyError
from cognito_authz.iam import iam_allows
from cognito_authz.iam.document import plainly_refuses

PREFIX = "arn:aws:execute-api:r:1:a/s/"
TEXT = st.text(alphabet="ab:*?/", max_size=8)
# Resources and ARNs that mostly share the execute-api prefix, so heads before a wildcard often agree.
PATTERNS = st.one_of(
    st.builds(lambda t: PREFIX + t, TEXT),
    st.builds(lambda t: "arn:aws:execute-api:r:1:" + t, TEXT),
    TEXT,
    st.just("*"),
)
ARNS = st.one_of(st.builds(lambda t: PREFIX + t, st.text(alphabet="ab:/*?", max_size=8)), TEXT)


class _Text(str):
    """A str subclass: the screen must not trust how it compares."""


@st.composite
def statements(draw: st.DrawFn) -> Any:
    statement: dict[str, Any] = {
        "Action": "execute-api:Invoke",
        "Effect": draw(st.sampled_from(["Allow", "Deny"])),
        "Resource": draw(st.lists(PATTERNS, min_size=1, max_size=4)),
    }
    flaw = draw(st.integers(0, 14))
    if flaw == 1:
        statement["Action"] = draw(st.sampled_from(["*", "execute-api:*", "s3:GetObject", 7, None]))
    elif flaw == 2:
        statement["Action"] = ["execute-api:Invoke"]
    elif flaw == 3:
        statement["Effect"] = draw(st.sampled_from(["allow", "Permit", None, 1]))
    elif flaw == 4:
        statement["Resource"] = draw(st.sampled_from([[], "arn:*", PREFIX + "GET/a", None, [None], [1]]))
    elif flaw == 5:
        statement[draw(st.sampled_from(["Condition", "NotAction", "NotResource"]))] = {"x": "y"}
    elif flaw == 6:
        del statement[draw(st.sampled_from(["Action", "Effect", "Resource"]))]
    elif flaw == 7:
        statement["Resource"] = [*statement["Resource"], _Text(PREFIX + "a")]
    elif flaw == 8:
        statement["Effect"] = _Text(statement["Effect"])
    elif flaw == 9:
        return draw(st.sampled_from([None, "Allow", ["Allow"]]))
    return statement


@st.composite
def documents(draw: st.DrawFn) -> Any:
    listed = draw(st.lists(statements(), max_size=4))
    document: dict[str, Any] = {"Version": "2012-10-17", "Statement": listed}
    flaw = draw(st.integers(0, 19))
    if flaw == 1 and document["Statement"]:
        document["Statement"] = document["Statement"][0]  # one statement as an object (valid IAM)
    elif flaw == 2:
        return draw(st.sampled_from([None, [], "policy", {"Version": "2012-10-17"}]))
    return document


def _reference(document: Any, arn: str) -> bool | str:
    try:
        return iam_allows(document, arn)
    except PolicyError:
        return "raises"


@settings(max_examples=3000, deadline=None)
@given(documents(), ARNS)
def test_a_plain_refusal_is_always_the_reference_evaluators_refusal(document: Any, arn: str) -> None:
    kept = copy.deepcopy(document)
    if plainly_refuses(document, arn):
        assert _reference(document, arn) is False
    assert document == kept  # the screen reads, never writes


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.lists(st.text(alphabet="ab/", max_size=6), min_size=1, max_size=4), max_size=3), ARNS)
def test_plain_documents_of_literal_allows_are_refused_whenever_the_reference_refuses(
    allows: list[list[str]], arn: str
) -> None:
    # Literal Allows (no wildcard): the screen is exact, so it saves the walk on every such denial.
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [PREFIX + r for r in resources]}
            for resources in allows
        ],
    }
    assert plainly_refuses(document, arn) is (iam_allows(document, arn) is False)


@pytest.mark.parametrize(
    ("resource", "arn", "refused"),
    [
        (PREFIX + "GET/users/u1", PREFIX + "GET/orders/42", True),
        (PREFIX + "GET/orders/42", PREFIX + "GET/orders/42", False),
        (PREFIX + "GET/orders/*", PREFIX + "GET/orders/42", False),
        (PREFIX + "GET/orders/?2", PREFIX + "GET/orders/42", False),
        (PREFIX + "GET/users/*", PREFIX + "GET/orders/42", True),
        (PREFIX + "*", PREFIX + "GET/orders/42", False),
        ("*", PREFIX + "GET/orders/42", False),
        ("arn:aws:execute-api:*:1:a/s/GET/x", PREFIX + "GET/x", False),
    ],
)
def test_examples(resource: str, arn: str, refused: bool) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [resource]},
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [PREFIX + "*//*"]},
        ],
    }
    assert plainly_refuses(document, arn) is refused
    if refused:
        assert iam_allows(document, arn) is False
