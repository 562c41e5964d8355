"""The check every returned document passes: the rendered JSON, as IAM reads it, against ``decide``.

This is the part soundness rests on (steps 3 and 4 in ``docs/architecture.md``, "Cached authorizer answers
are exact"). It shares nothing with the code that chose the document: it reads the Resources back from
the rendered document (:func:`~cognito_authz.iam.patterns.glob_of_resource`), refuses any shape it cannot
reason about, builds the classes of requests from the API's table, the policy's routes and those globs
(:func:`~cognito_authz.iam.classes.walk_classes`), and on one request of every class compares a fresh
``Policy.decide`` with :func:`~cognito_authz.iam.document.iam_allows`, IAM's evaluation of the whole ARN.
The walk is asked only about the words the document's Allows accept (soundness) and those the routes of
allow rules that may apply to the principal accept (exactness), within the table: every other word is
refused by IAM and by ``decide`` alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.iam.classes import Budget, Representative, walk_classes
from cognito_authz.iam.document import iam_evaluator
from cognito_authz.iam.patterns import SegmentPattern, glob_of_resource
from cognito_authz.iam.world import (
    VERBS,
    Head,
    allowing_routes,
    decide_cost,
    deciding_routes,
    head_of,
    heads_of,
    policy_facts,
    request_patterns,
)
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal
from cognito_authz.routing import request_segments

__all__ = ["ESCAPED_PATHS", "Verdict", "check_document"]

#: The Deny a document with carve-outs carries: IAM compares raw text and ``decide`` decoded segments,
#: so ``/%61dmin`` would slip past a Deny on ``admin``. Escaped paths are refused outright instead.
ESCAPED_PATHS = "*%*"
#: Denies for paths the routing model refuses (empty, ``.`` and ``..`` segments) that a ``*`` would span.
ODD_PATHS = ("*//*", "*/./*", "*/.", "*/../*", "*/..")


class Verdict(Frozen):
    """``sound``: no routable request the document allows is denied by ``decide``. ``exact``: also every
    routable request ``decide`` allows is allowed. ``example`` is a request breaking the first that
    fails; ``missed`` the rules allowing requests the document leaves out (when not exact)."""

    __slots__ = ("classes", "exact", "example", "lost", "missed", "sound", "wrong")
    sound: bool
    exact: bool
    example: str
    missed: tuple[str, ...]
    classes: int
    #: When unsound: one wrongly allowed request per verb that has one (the first is ``example``).
    wrong: tuple[str, ...]
    #: When not exact: one request ``decide`` allows but the document refuses, per verb.
    lost: tuple[str, ...]

    def __init__(
        self,
        sound: bool,
        exact: bool,
        example: str = "",
        missed: tuple[str, ...] = (),
        classes: int = 0,
        wrong: tuple[str, ...] = (),
        lost: tuple[str, ...] = (),
    ) -> None:
        set_field(self, "sound", sound)
        set_field(self, "exact", exact)
        set_field(self, "example", example)
        set_field(self, "missed", missed)
        set_field(self, "classes", classes)
        set_field(self, "wrong", wrong)
        set_field(self, "lost", lost)


def _globs(
    document: Mapping[str, Any], prefix: str
) -> tuple[dict[str, list[tuple[str, SegmentPattern]]], dict[str, Any]] | None:
    """Effect -> (verb, glob) for every Resource read exactly, and the document keeping only those
    (a Deny can only narrow what IAM allows, so judging soundness without the Denies this cannot read is
    conservative). ``None`` if an Allow is not read exactly, or a Deny with a literal comes without the
    escaped-path Deny."""
    out: dict[str, list[tuple[str, SegmentPattern]]] = {"Allow": [], "Deny": []}
    kept: list[dict[str, Any]] = []
    escaped = False
    for statement in document.get("Statement", ()):
        if set(statement) != {"Action", "Effect", "Resource"} or statement["Action"] != "execute-api:Invoke":
            return None
        effect = statement["Effect"]
        read: list[str] = []
        for resource in statement["Resource"]:
            parsed = glob_of_resource(prefix, resource)
            if parsed is None and effect == "Allow":
                return None  # an Allow read inexactly could allow anything
            if parsed is None:
                escaped = escaped or resource == prefix + ESCAPED_PATHS
                continue
            out[effect].append(parsed)
            read.append(resource)
        if read:
            kept.append({**statement, "Resource": read})
    if not escaped and any(glob.literals() - {""} for _verb, glob in out["Deny"]):
        return None
    return out, {"Version": document.get("Version"), "Statement": kept}


def check_document(
    policy: Policy,
    principal: Principal,
    document: Mapping[str, Any],
    prefix: str,
    budget: Budget,
) -> Verdict:
    """Evaluate ``document`` as IAM does against ``policy.decide`` on one request of every class that
    the document allows or an allow rule that may apply to ``principal`` reaches, within the API's
    table."""
    read = _globs(document, prefix)
    if read is None:
        return Verdict(False, False, "a Resource or statement of a shape the check cannot read exactly")
    globs, readable = read
    facts = policy_facts(policy)
    api = policy.api
    allows_readable, allows_document = iam_evaluator(readable), iam_evaluator(document)
    per_decide = decide_cost(facts, principal)  # with the two IAM evaluations after it
    missed: dict[str, None] = {}
    example = ""
    count = 0
    wrong: list[str] = []
    lost: list[str] = []
    walks: dict[tuple[tuple[SegmentPattern, ...], tuple[int, ...], int], list[Representative]] = {}
    allowing = allowing_routes(policy, principal, budget)
    deciding = deciding_routes(policy, allowing, budget)
    for verb in VERBS:
        allows = [glob for v, glob in globs["Allow"] if v == verb]
        denies = [glob for v, glob in globs["Deny"] if v == verb]
        # Soundness needs the words an Allow accepts; exactness the words decide may allow, which the
        # route of an allow rule that may apply accepts. Every other word is refused by both, so the
        # walk leaves it, and a word no table route takes (docs/architecture.md, step 3). Table and
        # policy patterns that start with another segment than these never meet such a word.
        heads: set[Head] = {head_of(glob) for glob in allows} | heads_of(facts, allowing, verb)
        table, every_route, every_source = request_patterns(
            facts, principal, verb, budget, None if None in heads else heads
        )
        # Only the routes that can change decide's verdict for this principal tell classes apart: the
        # routes of allow rules that cannot apply are left out (docs/architecture.md, step 3).
        kept = [k for k, texts in enumerate(every_source) if not texts.isdisjoint(deciding)]
        routes = [every_route[k] for k in kept]
        sources = [every_source[k] for k in kept]
        patterns = (*table, *routes, *allows, *denies)
        first_glob = len(table) + len(routes)
        relevant = [*range(first_glob, first_glob + len(allows))]
        relevant += [len(table) + k for k, texts in enumerate(sources) if not texts.isdisjoint(allowing)]
        within = range(len(table)) if facts.table is not None else None
        # The classes are a function of the patterns (and what the walk is asked about) alone: verbs
        # with the same share one walk. decide still runs on every verb's own representatives. The
        # table's routes are blind: a class says whether one of them takes its words, not which. The key
        # holds where the table ends: a pattern that is a table route of one verb and a policy route of
        # another must be blind in the first walk only.
        key = (patterns, tuple(relevant), len(table))
        if key not in walks:
            walks[key] = walk_classes(patterns, budget, relevant, within, blind=within)
        for representative in walks[key]:
            count += 1
            path = "/" + "/".join(representative.word)
            if request_segments(path) is None:
                continue  # the routing model refuses it: no route of any API takes it
            budget.spend(per_decide)
            decision = policy.decide(principal, verb, path)
            arn = f"{prefix}{verb}{path}"
            # Whether the table routes the request matters only where decide and IAM disagree (a class
            # the gateway never routes cannot be wrongly answered), so it is asked only there: nearly
            # every class of a large table is routable, and the lookup cost as much as the decide.
            if decision.allowed == (allows_document if decision.allowed else allows_readable)(arn):
                continue
            # An unroutable class is never sent to an authorizer or to a cached answer. Asked only of a
            # class no table route's pattern takes: if one takes it and the table still said "routes
            # nowhere", the classes would not be telling routable words apart, so it is judged instead
            # (fail closed).
            if (
                api is not None
                and (within is None or representative.accepted.isdisjoint(within))
                and not api.routable(verb, path)
            ):
                continue
            if not decision.allowed:
                wrong.append(f"{verb} {path}")
                break
            example = example or f"{verb} {path}"
            if not lost or not lost[-1].startswith(verb + " "):
                lost.append(f"{verb} {path}")
            missed.update(dict.fromkeys(decision.rules))
    if wrong:
        return Verdict(False, False, wrong[0], classes=count, wrong=tuple(wrong))
    return Verdict(True, not example, example, tuple(missed), count, lost=tuple(lost))
