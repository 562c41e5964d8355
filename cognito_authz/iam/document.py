"""IAM policy documents for ``execute-api:Invoke`` and the matcher API Gateway applies to them.

The matcher is here (not in tests) because the authorizer self-checks every principal-wide document it
generates against ``Policy.decide``; it follows IAM's documented resource semantics: each of the six
colon-separated ARN components is matched on its own, case-sensitively, ``*`` matches any run of
characters (``/`` included) and ``?`` exactly one; an explicit ``Deny`` wins; no ``Allow`` means deny.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.errors import ConfigError, PolicyError

__all__ = [
    "IAM_POLICY_VERSION",
    "INVOKE_ACTION",
    "Statement",
    "document_matcher",
    "document_size",
    "glob_match",
    "iam_allows",
    "iam_evaluator",
    "plainly_refuses",
    "policy_document",
]

IAM_POLICY_VERSION = "2012-10-17"
INVOKE_ACTION = "execute-api:Invoke"

Effect = Literal["Allow", "Deny"]


class Statement(Frozen):
    """One ``execute-api:Invoke`` statement: an effect and the resource patterns it covers."""

    __slots__ = ("effect", "resources")
    effect: Effect
    resources: tuple[str, ...]

    def __init__(self, effect: Effect, resources: tuple[str, ...]) -> None:
        set_field(self, "effect", effect)
        set_field(self, "resources", resources)
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.effect not in ("Allow", "Deny"):
            raise ConfigError(f"effect must be 'Allow' or 'Deny', not {self.effect!r}", field="effect")
        if not isinstance(self.resources, tuple) or not self.resources:
            raise ConfigError("a statement needs a non-empty tuple of resources", field="resources")
        for resource in self.resources:
            if not isinstance(resource, str) or not resource:
                raise ConfigError("statement resources are non-empty strings", field="resources")

    def to_dict(self) -> dict[str, Any]:
        """The statement as API Gateway expects it in ``policyDocument.Statement``."""
        return {"Action": INVOKE_ACTION, "Effect": self.effect, "Resource": list(self.resources)}


def policy_document(statements: Iterable[Statement | tuple[str, Sequence[str]]]) -> dict[str, Any]:
    """Build ``{"Version": "2012-10-17", "Statement": [...]}`` from statements.

    Each item is a ``Statement`` or an ``(effect, resources)`` pair. Empty resource lists are a
    programming error (``ConfigError``): a statement that covers nothing would be rejected by IAM.
    """
    built: list[dict[str, Any]] = []
    for item in statements:
        if isinstance(item, Statement):
            statement = item
        elif isinstance(item, tuple) and len(item) == 2 and not isinstance(item[1], str):
            effect, resources = item
            statement = Statement(effect, tuple(resources))  # type: ignore[arg-type]
        else:
            raise ConfigError("statements are Statements or (effect, resources) pairs", field="statements")
        built.append(statement.to_dict())
    return {"Version": IAM_POLICY_VERSION, "Statement": built}


def document_size(document: Mapping[str, Any]) -> int:
    """Bytes of the document as compact JSON: what counts against API Gateway's response limits."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def glob_match(pattern: str, text: str) -> bool:
    """IAM wildcard match: ``*`` any run of characters (``/`` included), ``?`` one character, case-sensitive.

    The classic two-cursor algorithm with backtracking to the last ``*``: linear for typical patterns,
    O(len(pattern) * len(text)) at worst, and no regular expression (so no compile cost per pattern).
    """
    first = _first_wild(pattern)
    if first < 0:
        return pattern == text  # no wildcard: the plain comparison, in C
    # The text before the first wildcard and after the last one is literal and must match exactly in
    # place (each of its characters consumes one character of text), so compare those in C and run the
    # cursor loop on the middle only. Same answers; most mismatches of an ARN end here.
    last = max(pattern.rfind("*"), pattern.rfind("?"))
    head, tail = pattern[:first], pattern[last + 1 :]
    if len(text) < len(head) + len(tail) or not text.startswith(head) or not text.endswith(tail):
        return False
    pattern = pattern[first : last + 1]
    text = text[first : len(text) - len(tail)]
    p = t = 0
    star = -1
    resume = 0
    while t < len(text):
        # A '*' in the pattern is always a wildcard, even against a literal '*' in the text.
        if p < len(pattern) and pattern[p] == "*":
            star, resume = p, t
            p += 1
        elif p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif star != -1:
            # Let the last '*' swallow one more character and retry from there.
            p = star + 1
            resume += 1
            t = resume
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def _first_wild(pattern: str) -> int:
    # Index of the first '*' or '?' in the pattern, -1 when it has neither.
    star, mark = pattern.find("*"), pattern.find("?")
    return star if mark < 0 else mark if star < 0 else min(star, mark)


def _arn_match(pattern: str, arn: str) -> bool:
    # IAM compares the six ARN components separately, so a '*' in the region never reaches the path.
    if pattern == "*":
        return True
    first = _first_wild(pattern)
    if first < 0:
        # No wildcard: component-wise equality is string equality of two six-component ARNs.
        return pattern == arn and arn.count(":") >= 5
    if not arn.startswith(pattern[:first]):
        # The text before the first wildcard is whole literal components (equal in both) and the literal
        # head of the next: a match needs the ARN to start with it. Only ever rejects.
        return False
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    return all(glob_match(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


def _as_list(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return list(value)
    raise PolicyError(f"{field} must be a string or a non-empty string list", reason="invalid_iam_document")


def _component_regex_text(pattern: str) -> str:
    # The same semantics as glob_match ('*' any run, '?' one character, the rest itself), as regex text:
    # the literal runs between wildcards escaped whole (escaping character by character cost more than
    # the check's evaluations of a large document).
    return ".*".join(".".join(map(re.escape, part.split("?"))) for part in pattern.split("*"))


@lru_cache(maxsize=4096)
def _component_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(_component_regex_text(pattern), re.S)


# How many distinct ARN heads (the first five components) one evaluator remembers its verdicts on: the
# check evaluates every ARN under one API and stage, so one is the usual count; past the cap a head is
# matched again each time (same answers), so memory stays bounded whatever the ARNs are.
_KNOWN_HEADS = 64

# Matches the sixth component of an ARN whose head is given (as text, and split into its five parts).
_TailMatcher = Callable[[str, list[str], str], bool]
# A group's wildcard-free sixth components and the alternation of its others (None: it has none).
_Tails = list[tuple[frozenset[str], Callable[[str], object] | None]]


def _component_matcher(patterns: list[str]) -> _TailMatcher:
    """Whether an ARN matches any of ``patterns``, IAM's way (each of the six ARN components on its own),
    for an ARN already split into its head (text and five components) and its sixth component.

    Patterns sharing their first five components (in practice all of them: one API, one stage prefix) are
    one group, and the sixth components of a group are compiled into one alternation, so an evaluation
    costs one regular-expression match per group instead of one per Resource: the check evaluates a
    document on every class of requests, and hundreds of Resources times thousands of classes must stay
    within an invocation's time cap. Which groups' heads match an ARN's head is worked out once per
    distinct head and remembered (the check's ARNs all share one), so an evaluation is then one set
    lookup or one alternation per group whose head matched. Same semantics as :func:`_arn_match`."""
    if "*" in patterns:
        return lambda head, head_parts, last: True
    groups: dict[tuple[str, ...], list[str]] = {}
    for pattern in patterns:
        parts = pattern.split(":", 5)
        if len(parts) == 6:  # anything else matches no ARN
            groups.setdefault(tuple(parts[:5]), []).append(parts[5])
    compiled = []
    for head_pattern, tails in groups.items():
        # Wildcard-free tails are compared as text; the others are one alternation, compiled once
        # (compiling a regular expression per Resource would cost more than the evaluations it serves).
        literal = frozenset(tail for tail in tails if "*" not in tail and "?" not in tail)
        wild = [tail for tail in tails if tail not in literal]
        alternation = (
            re.compile("|".join(f"(?:{_component_regex_text(tail)})" for tail in wild), re.S).fullmatch
            if wild
            else None
        )
        heads = tuple(_component_regex(part).fullmatch for part in head_pattern)
        compiled.append((heads, literal, alternation))
    known: dict[str, _Tails] = {}

    def tails_for(head: str, head_parts: list[str]) -> _Tails:
        # The groups whose five head patterns each match the ARN's component in the same place.
        found = known.get(head)
        if found is None:
            found = [
                (literal, alternation)
                for heads, literal, alternation in compiled
                if all(match(part) is not None for match, part in zip(heads, head_parts, strict=True))
            ]
            if len(known) < _KNOWN_HEADS:
                known[head] = found
        return found

    def matches(head: str, head_parts: list[str], last: str) -> bool:
        return any(
            last in literal or (alternation is not None and alternation(last) is not None)
            for literal, alternation in tails_for(head, head_parts)
        )

    return matches


def _invoke_resources(document: Mapping[str, Any]) -> tuple[list[str], list[str], bool]:
    """The Allow and Deny Resources of the statements granting ``execute-api:Invoke`` in a document
    :func:`iam_allows` has validated, and whether a statement it cannot evaluate offline (``Condition``,
    ``NotAction``, ``NotResource``) is a Deny, which then denies everything (fail closed). The one reading
    of a document both compiled evaluators share; how each matches a Resource stays its own."""
    statements = document["Statement"]
    allow: list[str] = []
    deny: list[str] = []
    always_deny = False
    for statement in [statements] if isinstance(statements, Mapping) else statements:
        if any(key in statement for key in ("Condition", "NotAction", "NotResource")):
            always_deny = always_deny or statement["Effect"] == "Deny"
            continue
        actions = _as_list(statement.get("Action"), "Action")
        if not any(glob_match(action.lower(), "execute-api:invoke") for action in actions):
            continue
        (deny if statement["Effect"] == "Deny" else allow).extend(
            _as_list(statement.get("Resource"), "Resource")
        )
    return allow, deny, always_deny


def iam_evaluator(document: Mapping[str, Any]) -> Callable[[str], bool]:
    """:func:`iam_allows` for many ARNs against one document: the document is read once and its
    Resources compiled once, per ARN component (same semantics; a malformed document raises at once).
    Written apart from :func:`document_matcher` (whole-ARN regular expressions, used by the builder's
    guard), so the check that soundness rests on does not share its evaluator with the builder."""
    iam_allows(document, "arn:aws:execute-api:r:0:x/y")  # validates the document, raising as iam_allows does
    allow, deny, always_deny = _invoke_resources(document)
    if always_deny:
        return lambda arn: False
    deny_matches, allow_matches = _component_matcher(deny), _component_matcher(allow)
    # A Resource of exactly "*" matches every text, even one without six components; any other matches
    # only an ARN of six.
    deny_all, allow_any = "*" in deny, "*" in allow

    def allows(arn: str) -> bool:
        parts = arn.split(":", 5)
        if len(parts) != 6:
            return allow_any and not deny_all
        last = parts.pop()
        head = arn[: len(arn) - len(last) - 1]  # the first five components, as text: the memo's key
        return not deny_matches(head, parts, last) and allow_matches(head, parts, last)

    return allows


def _whole_arn_regex(pattern: str) -> str:
    # One Resource as a regular expression over the whole ARN with _arn_match's semantics: the first five
    # components hold no ':' (so their '*' and '?' never cross one), the sixth is the rest of the text.
    if pattern == "*":
        return ".*"
    parts = pattern.split(":", 5)
    if len(parts) != 6:
        return "(?!)"  # never matches, as _arn_match answers for a pattern without six components
    head = ":".join(
        "".join("[^:]*" if c == "*" else "[^:]" if c == "?" else re.escape(c) for c in part)
        for part in parts[:5]
    )
    tail = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in parts[5])
    return f"{head}:{tail}"


def document_matcher(document: Mapping[str, Any]) -> Callable[[str], bool]:
    """:func:`iam_allows` for one document as two compiled regular expressions (its Deny and its Allow
    Resources, each one alternation over whole ARNs): for a document evaluated on many ARNs, such as a
    memoized proof guarding each new caller's request. Same answers (a property test compares them)."""
    iam_allows(document, "arn:aws:execute-api:r:0:x/y")  # validates the document, raising as iam_allows does
    allow, deny, always_deny = _invoke_resources(document)
    if always_deny:
        return lambda arn: False  # an unevaluable Deny denies everything (fail closed)
    if not allow:
        return lambda arn: False
    allow_match = re.compile("|".join(f"(?:{_whole_arn_regex(p)})" for p in allow), re.S).fullmatch
    if not deny:
        return lambda arn: allow_match(arn) is not None
    deny_match = re.compile("|".join(f"(?:{_whole_arn_regex(p)})" for p in deny), re.S).fullmatch

    def allows(arn: str) -> bool:
        return deny_match(arn) is None and allow_match(arn) is not None

    return allows


def iam_allows(document: Mapping[str, Any], resource_arn: str) -> bool:
    """Would API Gateway let a request for ``resource_arn`` through under this policy document?

    Explicit ``Deny`` wins over ``Allow``; no matching ``Allow`` denies. Statements with a ``Condition``,
    ``NotAction`` or ``NotResource`` cannot be evaluated offline: an ``Allow`` among them never allows and
    a ``Deny`` among them always denies (fail closed). A malformed document raises ``PolicyError``
    (``invalid_iam_document``).
    """
    if not isinstance(document, Mapping):
        raise PolicyError("policy document must be a JSON object", reason="invalid_iam_document")
    if not isinstance(resource_arn, str):
        raise PolicyError("resource ARN must be a string", reason="invalid_iam_document")
    raw = document.get("Statement")
    if isinstance(raw, Mapping):
        statements: list[Any] = [raw]
    elif isinstance(raw, list):
        statements = raw
    else:
        raise PolicyError("Statement must be an object or a list", reason="invalid_iam_document")
    allowed = False
    for statement in statements:
        if not isinstance(statement, Mapping):
            raise PolicyError("each statement must be an object", reason="invalid_iam_document")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError("Effect must be 'Allow' or 'Deny'", reason="invalid_iam_document")
        unevaluable = any(key in statement for key in ("Condition", "NotAction", "NotResource"))
        if unevaluable:
            if effect == "Deny":
                return False
            continue
        actions = _as_list(statement.get("Action"), "Action")
        # Action names are case-insensitive and may carry wildcards ("execute-api:*", "*").
        if not any(glob_match(action.lower(), "execute-api:invoke") for action in actions):
            continue
        resources = _as_list(statement.get("Resource"), "Resource")
        if any(_arn_match(pattern, resource_arn) for pattern in resources):
            if effect == "Deny":
                return False
            allowed = True
    return allowed


def plainly_refuses(document: Any, resource_arn: str) -> bool:
    """``True`` only when :func:`iam_allows` answers ``False`` for this ARN without raising, seen from the
    document's shape alone; ``False`` means "ask :func:`iam_allows`".

    It answers only for the plain documents the builder writes: a dict whose ``Statement`` is a list of
    dicts, each with ``Effect`` ``Allow`` or ``Deny``, ``Action`` exactly ``execute-api:Invoke``, a
    non-empty list of string Resources and none of ``Condition``, ``NotAction``, ``NotResource``. Such a
    document is valid, so :func:`iam_allows` cannot raise on it, and it allows an ARN only through an
    Allow Resource that matches it; a Resource matches only an ARN that begins with its text before the
    first ``*`` or ``?`` (the whole Resource, when it has neither, which must then equal the ARN). When no
    Allow Resource passes that test, nothing can allow the ARN. The authorizer asks this before its
    reference check of a denied request's document: the same verdict, for a few string comparisons
    instead of a walk of every statement.
    """
    if type(document) is not dict or type(resource_arn) is not str:
        return False
    statements = document.get("Statement")
    if type(statements) is not list:
        return False
    for statement in statements:
        if type(statement) is not dict:
            return False
        # Exact str types throughout: a str subclass could compare or lower itself its own way.
        action, effect = statement.get("Action"), statement.get("Effect")
        if type(action) is not str or action != INVOKE_ACTION or type(effect) is not str:
            return False
        resources = statement.get("Resource")
        if type(resources) is not list or not resources:
            return False
        if "Condition" in statement or "NotAction" in statement or "NotResource" in statement:
            return False
        if effect == "Allow":
            for resource in resources:
                if type(resource) is not str:
                    return False
                if "*" in resource or "?" in resource:
                    if resource_arn.startswith(resource[: _first_wild(resource)]):
                        return False  # it may match: unsure
                elif resource == resource_arn:
                    return False  # it matches
        elif effect == "Deny":
            for resource in resources:
                if type(resource) is not str:
                    return False
        else:
            return False
    return True
