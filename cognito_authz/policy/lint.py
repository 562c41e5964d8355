"""Policy lint: mistakes that load fine but are almost certainly not what the author meant.

Findings (``code``: severity):

* ``unknown_group``: error. A condition names a group not in the declared ``groups`` list (a typo
  narrows an allow, or makes a deny never fire).
* ``never_applies``: error. A rule's conditions can never hold: ``when`` implies ``unless`` (the rule is
  always skipped), or scopes are required of ID tokens (Cognito puts scopes only in access tokens).
* ``shadowed_by_deny``: warning. Every route of an allow rule is covered by deny rules that apply
  whenever the allow does, so it can never grant anything.
* ``route_not_allowed``: warning. A route of the policy that no (applicable) allow rule overlaps:
  nobody may ever call it, so deny rules on it protect nothing.
* ``route_param_conflict``: warning. The same route shape spelled with different parameter names
  (API Gateway rejects such routes as conflicting; claim templates then bind differently).
* ``unconditional_allow``: warning. An allow rule without conditions on a greedy route: every
  authenticated caller gets a whole subtree.
* ``no_rules``: warning. The policy denies everything.
* ``claim_not_in_token``: warning, only when the token use is known (the policy file's ``token_use``
  or ``cognito-authz lint --token-use``). A rule compares a claim that stock Cognito tokens of that use do
  not carry (custom attributes, ``email`` ... in access tokens; ``scope``/``client_id`` in ID tokens), so
  on a stock pool the condition never holds. The message names both remedies: ID tokens, or a pre token
  generation trigger (:mod:`cognito_authz.triggers`) that adds the claim to access tokens.
* The route table's findings (``api_table_stale``, ``api_route_not_allowed``, ``rule_route_not_in_api``,
  ``api_table_missing``): see :mod:`cognito_authz.policy.api_lint`.

Problems that make a policy unloadable (broken route braces such as ``{ id}`` or ``{}``, duplicate
ids, unknown keys, bad claim templates) are load errors; :func:`lint_file` and :func:`lint_data` report
them as ``error`` findings whose code is the ``PolicyError`` reason, so one command shows everything.
Implication checks are conservative: lint may miss a shadowed rule, it never reports a false one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

from cognito_authz.claimsets import carried_by_default
from cognito_authz.errors import PolicyError
from cognito_authz.policy.api_lint import lint_route_table
from cognito_authz.policy.api_table import ApiTable
from cognito_authz.policy.findings import LintFinding, Severity
from cognito_authz.policy.model import Condition, PolicyDocument, Rule, template_param
from cognito_authz.policy.parse import parse_document
from cognito_authz.policy.routes import LITERAL, Route, overlaps, subsumes
from cognito_authz.policy.sources import load_file

__all__ = [
    "LintFinding",
    "Severity",
    "lint_data",
    "lint_document",
    "lint_file",
    "lint_policy",
    "token_use_findings",
]

TokenUse = Literal["id", "access"]


class HasDocument(Protocol):
    """What lint reads from a loaded policy (a :class:`~cognito_authz.policy.Policy` is one): lint works on
    the document, so it never imports the engine that compiles it."""

    @property
    def document(self) -> PolicyDocument: ...


def lint_file(path: str | Path, *, deployed: ApiTable | None = None) -> list[LintFinding]:
    """Load and lint a policy file; a load error becomes a single ``error`` finding.

    ``deployed`` is the route table of the deployment (``cognito-authz lint --api FILE``): the policy's
    own ``api:`` table is then checked against it.
    """
    try:
        document = parse_document(load_file(path), str(path))
    except PolicyError as exc:
        return [_load_finding(exc)]
    return lint_document(document, deployed=deployed)


def lint_data(
    data: Mapping[str, Any], source: str = "<dict>", *, deployed: ApiTable | None = None
) -> list[LintFinding]:
    """Validate and lint a policy given as a mapping; a load error becomes a single ``error`` finding."""
    try:
        document = parse_document(data, source)
    except PolicyError as exc:
        return [_load_finding(exc)]
    return lint_document(document, deployed=deployed)


def _load_finding(exc: PolicyError) -> LintFinding:
    rule_id = exc.details.get("rule_id")
    return LintFinding("error", exc.reason, exc.message, rule_id if isinstance(rule_id, str) else None)


def lint_policy(
    policy: HasDocument, *, deployed: ApiTable | None = None, token_use: TokenUse | None = None
) -> list[LintFinding]:
    """Every finding for a loaded policy (see :func:`lint_document`)."""
    return lint_document(policy.document, deployed=deployed, token_use=token_use)


def lint_document(
    document: PolicyDocument, *, deployed: ApiTable | None = None, token_use: TokenUse | None = None
) -> list[LintFinding]:
    """Every finding for a policy document, rule by rule, then route-level findings, then the route
    table's (:func:`cognito_authz.policy.api_lint.lint_route_table`), then, when the token use is known
    (``token_use``, else the document's own), the claims such tokens lack (:func:`token_use_findings`)."""
    findings = _rule_findings(document, deployed)
    findings.extend(token_use_findings(document, token_use or document.token_use))
    return findings


def token_use_findings(document: PolicyDocument, token_use: TokenUse | None) -> list[LintFinding]:
    """``claim_not_in_token`` warnings: rules comparing a claim that stock tokens of ``token_use`` lack."""
    if token_use is None:
        return []
    findings: list[LintFinding] = []
    for rule in document.rules:
        lacking: dict[str, None] = {}
        for condition in (rule.when, rule.unless):
            for claim in (condition.claims or {}) if condition is not None else {}:
                if not carried_by_default(claim, token_use):
                    lacking[claim] = None
        for claim in lacking:
            findings.append(
                LintFinding("warning", "claim_not_in_token", _lacking_message(claim, token_use), rule.id)
            )
    return findings


def _lacking_message(claim: str, token_use: TokenUse) -> str:
    if token_use == "access":
        return (
            f"compares {claim!r}, which Cognito access tokens do not carry by default (they carry sub, "
            "username, cognito:groups, scope and client_id); on a stock pool this condition never holds. "
            "Remedies: decide on ID tokens (token_use: id), which carry user attributes, or add the claim "
            "to access tokens with a pre token generation trigger (event version 2 or 3, Essentials or Plus "
            "feature plan; cognito_authz.triggers.PreTokenGenerationTrigger builds one from this policy)"
        )
    return (
        f"compares {claim!r}, which Cognito ID tokens do not carry (scope and client_id are access-token "
        "claims; an ID token's client is its aud, which the client_id condition reads). Remedies: decide on "
        "access tokens (token_use: access), or use the client_id/scopes conditions instead of a claim"
    )


def _rule_findings(document: PolicyDocument, deployed: ApiTable | None) -> list[LintFinding]:
    findings: list[LintFinding] = []
    rules = document.rules
    if not rules:
        findings.append(
            LintFinding("warning", "no_rules", "the policy has no rules: every request is denied")
        )
        return findings
    declared = set(document.groups) if document.groups is not None else None
    dead: set[str] = set()
    for rule in rules:
        if declared is not None:
            findings.extend(_unknown_groups(rule, declared))
        reason = _never_applies(rule)
        if reason is not None:
            dead.add(rule.id)
            findings.append(LintFinding("error", "never_applies", reason, rule.id))
        if rule.effect == "allow" and rule.when is None and rule.unless is None:
            greedy = [route.text for route in rule.routes if route.greedy]
            if greedy:
                findings.append(
                    LintFinding(
                        "warning",
                        "unconditional_allow",
                        f"allows every authenticated caller on {', '.join(greedy)}; add a 'when' condition",
                        rule.id,
                    )
                )
    denies = [rule for rule in rules if rule.effect == "deny" and rule.id not in dead]
    for rule in rules:
        if rule.effect == "allow" and rule.id not in dead:
            shadowing = _shadowed_by(rule, denies)
            if shadowing:
                findings.append(
                    LintFinding(
                        "warning",
                        "shadowed_by_deny",
                        f"every route is denied whenever this rule applies (by {', '.join(shadowing)}): "
                        "it can never allow anything",
                        rule.id,
                    )
                )
    routes = _distinct_routes(rules)
    findings.extend(_routes_not_allowed(rules, routes, dead))
    findings.extend(_param_conflicts(routes))
    findings.extend(lint_route_table(document, deployed=deployed, dead=dead))
    return findings


def _distinct_routes(rules: tuple[Rule, ...]) -> tuple[Route, ...]:
    """Every route the rules name, once each, in file order (as ``Policy.routes``)."""
    seen: dict[str, Route] = {}
    for rule in rules:
        for route in rule.routes:
            seen.setdefault(route.text, route)
    return tuple(seen.values())


def _unknown_groups(rule: Rule, declared: set[str]) -> list[LintFinding]:
    out: list[LintFinding] = []
    for part in ("when", "unless"):
        condition: Condition | None = getattr(rule, part)
        if condition is None:
            continue
        for group in condition.group_names():
            if group not in declared:
                out.append(
                    LintFinding(
                        "error",
                        "unknown_group",
                        f"{part} names group {group!r}, which is not in the declared groups",
                        rule.id,
                    )
                )
    return out


def _never_applies(rule: Rule) -> str | None:
    when = rule.when
    id_tokens_only = when is not None and when.token_use is not None and set(when.token_use) == {"id"}
    if id_tokens_only and when is not None and (when.scopes is not None or when.all_scopes is not None):
        return "requires scopes of ID tokens, but Cognito puts scopes only in access tokens"
    if rule.unless is not None and _implies(when, rule.unless, same_routes=True):
        return "'unless' holds whenever 'when' does, so the rule is always skipped"
    return None


def _shadowed_by(rule: Rule, denies: list[Rule]) -> list[str]:
    """Deny rules that together cover every route of ``rule`` whenever it applies; empty if not."""
    used: list[str] = []
    for route in rule.routes:
        cover = next(
            (
                deny
                for deny in denies
                if deny.unless is None
                and _implies(rule.when, deny.when, same_routes=False)
                and any(_covers(other, route) for other in deny.routes)
            ),
            None,
        )
        if cover is None:
            return []
        if cover.id not in used:
            used.append(cover.id)
    return used


def _covers(outer: Route, inner: Route) -> bool:
    return subsumes((outer.method, outer.pattern), (inner.method, inner.pattern))


def _routes_not_allowed(
    rules: tuple[Rule, ...], routes: tuple[Route, ...], dead: set[str]
) -> list[LintFinding]:
    allow_routes = [
        (route.method, route.pattern)
        for rule in rules
        if rule.effect == "allow" and rule.id not in dead
        for route in rule.routes
    ]
    out: list[LintFinding] = []
    for route in routes:
        if not any(overlaps((route.method, route.pattern), other) for other in allow_routes):
            users = [rule.id for rule in rules if route in rule.routes]
            out.append(
                LintFinding(
                    "warning",
                    "route_not_allowed",
                    f"no applicable allow rule covers any request to {route.text} (named by "
                    f"{', '.join(users)}): it is always denied",
                    users[0] if len(users) == 1 else None,
                )
            )
    return out


def _param_conflicts(routes: tuple[Route, ...]) -> list[LintFinding]:
    shapes: dict[tuple[tuple[int, str], ...], Route] = {}
    out: list[LintFinding] = []
    reported: set[tuple[str, str]] = set()
    for route in routes:
        if route.method is None:
            continue
        shape = tuple((kind, text if kind == LITERAL else "") for kind, text in route.pattern)
        first = shapes.setdefault(shape, route)
        if first.params != route.params and (first.path, route.path) not in reported:
            reported.add((first.path, route.path))
            out.append(
                LintFinding(
                    "warning",
                    "route_param_conflict",
                    f"{route.text} and {first.text} are the same path with different parameter names; "
                    "API Gateway treats them as one resource",
                )
            )
    return out


# --- implication: "whenever a holds, b holds" (conservative) ----------------------------------------


def _implies(a: Condition | None, b: Condition | None, *, same_routes: bool) -> bool:
    if b is None or b.is_empty():
        return True
    if a is None:
        return False
    return (
        _any_implied(a.groups, a.all_groups, b.groups)
        and _all_implied(a.groups, a.all_groups, b.all_groups)
        and _any_implied(a.scopes, a.all_scopes, b.scopes)
        and _all_implied(a.scopes, a.all_scopes, b.all_scopes)
        and _subset(a.token_use, b.token_use)
        and _subset(a.client_id, b.client_id)
        and _claims_implied(a.claims, b.claims, same_routes=same_routes)
    )


def _any_implied(
    any_of: tuple[str, ...] | None, all_of: tuple[str, ...] | None, wanted: tuple[str, ...] | None
) -> bool:
    if wanted is None:
        return True
    if any_of is not None and set(any_of) <= set(wanted):
        return True
    return all_of is not None and bool(set(all_of) & set(wanted))


def _all_implied(
    any_of: tuple[str, ...] | None, all_of: tuple[str, ...] | None, wanted: tuple[str, ...] | None
) -> bool:
    if wanted is None:
        return True
    have = set(all_of or ())
    if any_of is not None and len(set(any_of)) == 1:
        have |= set(any_of)
    return set(wanted) <= have


def _subset(have: tuple[str, ...] | None, wanted: tuple[str, ...] | None) -> bool:
    if wanted is None:
        return True
    return have is not None and set(have) <= set(wanted)


def _claims_implied(
    have: Mapping[str, Any] | None, wanted: Mapping[str, Any] | None, *, same_routes: bool
) -> bool:
    if wanted is None:
        return True
    if have is None:
        return False
    for claim, spec in wanted.items():
        if claim not in have:
            return False
        if spec == "*":
            continue
        mine = _values(have[claim])
        theirs = _values(spec)
        if mine is None or theirs is None:
            return False
        uses_templates = any(template_param(value) is not None for _, value in (*mine, *theirs))
        if uses_templates and not same_routes:
            # The same template name can sit at different positions in another rule's routes.
            return False
        if not set(mine) <= set(theirs):
            return False
    return True


def _values(spec: Any) -> tuple[Any, ...] | None:
    if spec == "*":
        return None
    values = spec if isinstance(spec, tuple) else (spec,)
    # Keep booleans apart from the integers 1 and 0 when comparing sets.
    return tuple((type(value).__name__, value) for value in values)
