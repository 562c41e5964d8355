"""``document_matcher`` (the builder's compiled guard of the current request) and ``iam_evaluator`` (the
check's evaluator, grouped by ARN components) answer as ``iam_allows``.

The builder evaluates a memoized proof's document on each new caller's request with ``document_matcher``
(two alternations of whole-ARN regular expressions); ``iam_allows`` reads the document component by
component with ``glob_match``. Random documents of short patterns over the characters that matter (``:``
separates components, ``*`` and ``?`` are wildcards, ``/``, ``%`` and a newline are plain text) and random
ARNs must get the same answer from both.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.iam import iam_allows
from cognito_authz.iam.document import document_matcher, iam_evaluator

TEXT = st.text(alphabet="ab:*?/%\n", max_size=14)
# Five to eight short components: colons where IAM splits, and beyond them in the last component.
PARTS = st.lists(st.text(alphabet="ab*?/", max_size=3), min_size=5, max_size=8).map(":".join)
ARNS = st.one_of(TEXT, PARTS, st.builds(lambda t: "arn:aws:execute-api:r:1:" + t, TEXT))
PATTERNS = st.one_of(TEXT, st.just("*"), ARNS)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    statements = []
    for _ in range(draw(st.integers(1, 4))):
        statement: dict[str, Any] = {
            "Effect": draw(st.sampled_from(["Allow", "Deny"])),
            "Action": draw(st.sampled_from(["execute-api:Invoke", "*", "execute-api:*", "s3:GetObject"])),
            "Resource": draw(st.lists(PATTERNS, min_size=1, max_size=4)),
        }
        if draw(st.integers(0, 9)) == 0:
            statement["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def _instances(document: dict[str, Any], fill: list[str]) -> list[str]:
    # ARNs near the document's own Resources: each '*' and '?' replaced by a drawn text (colons too), so
    # the answers are often "yes" and a wildcard that wrongly crosses a ':' shows.
    out = []
    for statement in document["Statement"]:
        for k, resource in enumerate(statement["Resource"]):
            out.append("".join(fill[(k + i) % len(fill)] if c in "*?" else c for i, c in enumerate(resource)))
    return out


@settings(max_examples=3000, deadline=None)
@given(
    documents(),
    st.lists(ARNS, min_size=1, max_size=6),
    st.lists(st.sampled_from(["", "a", ":", "a:b", "b/a", "?"]), min_size=1, max_size=4),
)
def test_document_matcher_answers_as_iam_allows(
    document: dict[str, Any], arns: list[str], fill: list[str]
) -> None:
    allows, evaluates = document_matcher(document), iam_evaluator(document)
    for arn in [*arns, *_instances(document, fill)]:
        expected = iam_allows(document, arn)
        assert allows(arn) == expected, (document, arn)
        assert evaluates(arn) == expected, (document, arn)


def test_document_matcher_reads_components_separately() -> None:
    # A '*' in the region never reaches the path; a '?' there never takes a ':'.
    allows = document_matcher({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "a:b:c:*:e:f"}]})
    assert allows("a:b:c:anything:e:f")
    assert not allows("a:b:c:x:y:e:f")
    assert not document_matcher(
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "a:b:c:??:e:f"}]}
    )("a:b:c:::e:f")


@settings(max_examples=500, deadline=None)
@given(
    documents(), st.lists(st.integers(0, 5), min_size=1, max_size=12), st.lists(ARNS, min_size=6, max_size=6)
)
def test_a_proofs_lazily_compiled_evaluator_answers_as_iam_allows_through_repeats(
    document: dict[str, Any], order: list[int], arns: list[str]
) -> None:
    # The builder's _later_compiled answers a repeat of the first ARN from memory and compiles on the
    # second distinct one: every answer, in any order of asks and repeats, is iam_allows'.
    from cognito_authz.iam.builder import _later_compiled

    allows = _later_compiled(document)
    for k in order:
        assert allows(arns[k]) == iam_allows(document, arns[k])
