"""Classes of requests a settled answer may be kept by: the image of the ARN up to a *fresh* last segment.

The usual new user asks for a resource of its own, named last (``/orders/42``). When neither ``decide``,
routing nor the document can tell two such requests apart, an answer settled for one without reading the
ARN is the answer for all of them, so :mod:`cognito_authz.iam.builder` keeps it once per class instead of
once per path. :func:`fresh_segment` says which segments qualify, :func:`classes_tell` whether a shape's
document and compared claims let its requests be grouped so (docs/architecture.md, step 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FRESH_LAST", "classes_tell", "fresh_segment"]


# The last item of a class key (`builder._renamed_answer`): (memo key, the image up to its last '/', verdict,
# this), four items where an image's key has three, so the two never meet.
FRESH_LAST = "fresh last segment"


def fresh_segment(segment: str, literal_of: Mapping[str, str]) -> bool:
    """Whether a path segment is *fresh*: non-empty ASCII letters, digits and ``-``, equal to no literal
    of the policy, its table or its conditions (``literal_of`` maps each literal to itself).

    Two images that differ only in a fresh segment are of one class: for a shape whose document and
    compared claim texts hold no fresh segment (`classes_tell`), neither ``decide``, routing nor the
    document's Resources can tell them apart (docs/architecture.md, steps 2 and 3: each depends on a
    segment only through its equality with those texts, and a Resource's literals and wildcards stand
    for whole segments, whose boundaries a fresh segment, holding no '/', '%' or '.', never changes). So
    the document covers one exactly when it covers the other, and an answer that settles alike for one
    (the proof's own document, or its request-scoped reason: nothing of the ARN in it) is the answer for
    every image of the class. The class key names the image up to its last segment, when that one is
    fresh: the usual new user asks for a resource of its own, named last."""
    return (
        segment not in literal_of
        and segment != ""
        and segment.isascii()
        and segment.replace("-", "a").isalnum()
    )


def classes_tell(
    key: tuple[Any, ...], document: Mapping[str, Any] | None, prefix: str, literal_of: Mapping[str, str]
) -> bool:
    """Whether `fresh_segment`'s classes are classes for this shape, so an answer settled alike may be kept by
    class.

    With no document every request settles alike. Otherwise every claim a condition compares must be
    absent or renamed (the key spells it ``None``, or as a placeholder, which holds '~' and is never
    fresh): a claim kept as it is compares its value with segments, a text outside the literals. And no
    segment of the document's Resources may look fresh, or hold a wildcard inside it: they are literals
    of routes and the table, placeholders, whole-segment wildcards and fixed texts by construction;
    checked here, not assumed."""
    if document is None:
        return True
    if any(text != "None" and not text.startswith("~") for _claim, text in key[-1]):
        return False
    for statement in document["Statement"]:
        for resource in statement["Resource"]:
            if not resource.startswith(prefix):
                return False
            # After the verb (or the '*' of a fixed Deny such as ``*%*``): no fresh-looking segment, and
            # no wildcard or policy variable but whole-segment ``*`` and ``?*`` and the fixed ``*%*``
            # (the check refuses any other; a ``4*`` would tell ``42`` from ``52``).
            for segment in resource[len(prefix) :].split("/")[1:]:
                if fresh_segment(segment, literal_of):
                    return False
                if segment not in _WHOLE_WILDCARDS and ("*" in segment or "?" in segment or "$" in segment):
                    return False
    return True


# The wildcard segments a checked document holds: glob tokens and the escape Deny (docs/architecture.md,
# step 4).
_WHOLE_WILDCARDS = frozenset({"*", "?*", "*%*"})
