"""Decision tables: a policy author's unit tests, as data.

A table is a YAML, JSON or TOML file (or a mapping) of cases; each names a principal by its claims, a
request, and the expected outcome::

    cases:
      - name: support reads an order
        principal: {sub: u-1, groups: [support], scopes: [orders/read]}
        method: GET
        path: /orders/42
        expect: allow
        rule: read-orders          # optional: a rule id that must be among the determining rules
        reason: allowed            # optional: allowed | explicit_deny | no_matching_rule

``principal`` holds claims as a token carries them (``cognito:groups`` list, ``scope`` string) or the
shorthands ``groups`` (list or string) and ``scopes`` (list or space-separated string). ``method`` may
be omitted for WebSocket route keys (``path: $connect``). A bare list is accepted as the ``cases``.

A principal key must be a shorthand, a claim Cognito puts in ID or access tokens, a ``custom:``/``dev:``
attribute, or a claim the policy's conditions read. Anything else is a typo until proven otherwise
(``scops:`` would otherwise become a claim nobody reads, and the case would fail only as "expected allow,
got deny"), so running the table stops with a :class:`PolicyError` that names the case and suggests the
closest known key.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from cognito_authz.errors import PolicyError
from cognito_authz.policy.engine import Decision, Policy
from cognito_authz.policy.sources import load_file
from cognito_authz.principal import Principal

__all__ = ["CaseResult", "DecisionCase", "DecisionTable", "TableResult", "run_decision_table"]

_Text = Annotated[str, StringConstraints(strict=True, min_length=1)]

#: The case shorthands, expanded by :meth:`DecisionCase.claims`.
SHORTHANDS = frozenset({"groups", "scopes"})
#: Claims Cognito issues in ID and access tokens (the user pool token reference:
#: https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
#: and .../amazon-cognito-user-pools-using-the-access-token.html), plus the OpenID standard attributes.
COGNITO_CLAIMS = frozenset(
    {
        "sub", "iss", "aud", "exp", "iat", "auth_time", "jti", "origin_jti", "event_id", "token_use",
        "client_id", "scope", "username", "version", "cognito:username", "cognito:groups", "cognito:roles",
        "cognito:preferred_role", "identities", "at_hash", "nonce", "amr", "email", "email_verified",
        "phone_number", "phone_number_verified", "name", "given_name", "family_name", "middle_name",
        "nickname", "preferred_username", "profile", "picture", "website", "gender", "birthdate",
        "zoneinfo", "locale", "address", "updated_at",
    }
)  # fmt: skip
#: Prefixes of user pool attributes an app defines itself.
_ATTRIBUTE_PREFIXES = ("custom:", "dev:")


class DecisionCase(BaseModel):
    """One expected decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    principal: dict[_Text, Any]
    method: _Text | None = None
    path: _Text
    expect: Literal["allow", "deny"]
    rule: _Text | None = None
    reason: Literal["allowed", "explicit_deny", "no_matching_rule"] | None = None

    def label(self, index: int) -> str:
        """``name`` if given, else a short description of the request."""
        return self.name or f"#{index} {self.method or ''} {self.path}".replace("  ", " ")

    def claims(self) -> dict[str, Any]:
        """The principal's claims with the ``groups``/``scopes`` shorthands expanded."""
        claims = dict(self.principal)
        if "groups" in claims:
            groups = claims.pop("groups")
            claims["cognito:groups"] = [groups] if isinstance(groups, str) else groups
        if "scopes" in claims:
            scopes = claims.pop("scopes")
            claims["scope"] = " ".join(scopes) if isinstance(scopes, list | tuple) else scopes
        return claims


class DecisionTable(BaseModel):
    """A list of cases, optionally described."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    cases: Annotated[tuple[DecisionCase, ...], Field(min_length=1)]

    @classmethod
    def from_file(cls, path: str | Path) -> DecisionTable:
        """Load a ``.yaml``/``.yml``/``.json``/``.toml`` table; :class:`PolicyError` if invalid."""
        return cls.from_data(load_file(path, what="decision table"), source=str(path))

    @classmethod
    def from_data(cls, data: Any, source: str = "<dict>") -> DecisionTable:
        """Validate a mapping (or a bare list of cases)."""
        if isinstance(data, list):
            data = {"cases": data}
        if not isinstance(data, Mapping):
            raise PolicyError(
                "a decision table must be a mapping with 'cases' (or a list of cases)",
                reason="invalid_decision_table",
                source=source,
            )
        try:
            table = cls.model_validate(dict(data))
        except ValidationError as exc:
            error = exc.errors()[0]
            field = _field(tuple(error["loc"]))
            shown = repr(error.get("input"))[:60]
            message = "unknown key" if error["type"] == "extra_forbidden" else f"{error['msg']} (got {shown})"
            if exc.error_count() > 1:
                message += f" (+{exc.error_count() - 1} more problems)"
            raise PolicyError(message, reason="invalid_decision_table", source=source, field=field) from None
        for index, case in enumerate(table.cases):
            _check_case(case, index, source)
        return table


def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _check_case(case: DecisionCase, index: int, source: str) -> None:
    where = {"reason": "invalid_decision_table", "source": source}
    if case.method is None and not case.path.startswith("$"):
        raise PolicyError("'method' is required for HTTP paths", field=f"cases[{index}].method", **where)
    claims = case.principal
    for short, long in (("groups", "cognito:groups"), ("scopes", "scope")):
        if short in claims and long in claims:
            raise PolicyError(
                f"give either {short!r} or {long!r}, not both", field=f"cases[{index}].principal", **where
            )
        value = claims.get(short)
        if value is not None and not (
            isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            raise PolicyError(
                f"{short!r} must be a string or a list of strings",
                field=f"cases[{index}].principal.{short}",
                **where,
            )
    if case.expect == "allow" and case.reason not in (None, "allowed"):
        raise PolicyError(
            f"expect: allow contradicts reason: {case.reason}", field=f"cases[{index}].reason", **where
        )
    if case.expect == "deny" and case.reason == "allowed":
        raise PolicyError("expect: deny contradicts reason: allowed", field=f"cases[{index}].reason", **where)


def policy_claims(policy: Policy) -> frozenset[str]:
    """Every claim name the policy's ``when``/``unless`` conditions read."""
    names: set[str] = set()
    for rule in policy.rules:
        for condition in (rule.when, rule.unless):
            if condition is not None and condition.claims:
                names.update(condition.claims)
    return frozenset(names)


def _check_principal_keys(table: DecisionTable, policy: Policy, source: str) -> None:
    read_by_policy = policy_claims(policy)
    known = sorted(SHORTHANDS | COGNITO_CLAIMS | read_by_policy)
    for index, case in enumerate(table.cases):
        for key in case.principal:
            if key in SHORTHANDS or key in COGNITO_CLAIMS or key in read_by_policy:
                continue
            if key.startswith(_ATTRIBUTE_PREFIXES):
                continue
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PolicyError(
                f"unknown principal key {key!r} in case {case.label(index)!r}: not a shorthand (groups, "
                f"scopes), a Cognito claim, a custom: attribute or a claim the policy reads{hint}",
                reason="invalid_decision_table",
                source=source,
                field=f"cases[{index}].principal.{key}",
            )


@dataclass(frozen=True, slots=True)
class CaseResult:
    """The outcome of one case: the actual decision and, when it failed, why."""

    index: int
    name: str
    case: DecisionCase
    decision: Decision
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """True when the decision matched every expectation of the case."""
        return not self.problems

    def describe(self) -> str:
        """One line: PASS/FAIL, the case, and what differed."""
        status = "PASS" if self.passed else "FAIL"
        actual = "allow" if self.decision.allowed else "deny"
        rules = f" by {', '.join(self.decision.rules)}" if self.decision.rules else ""
        detail = f"; {'; '.join(self.problems)}" if self.problems else ""
        return f"{status} {self.name}: {actual} ({self.decision.reason}{rules}){detail}"


@dataclass(frozen=True, slots=True)
class TableResult:
    """Every case's result, in file order."""

    source: str
    results: tuple[CaseResult, ...]

    @property
    def passed(self) -> bool:
        """True when every case passed."""
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> tuple[CaseResult, ...]:
        """The cases that failed."""
        return tuple(result for result in self.results if not result.passed)

    def summary(self) -> str:
        """``"12 cases, 12 passed"`` or with the failure count."""
        failed = len(self.failures)
        total = len(self.results)
        return f"{total} cases, {total - failed} passed" + (f", {failed} failed" if failed else "")


def run_decision_table(
    policy: Policy, cases: str | Path | DecisionTable | Mapping[str, Any] | list[Any]
) -> TableResult:
    """Decide every case of ``cases`` (a path, a loaded table, or its data) with ``policy``."""
    if isinstance(cases, DecisionTable):
        table, source = cases, "<table>"
    elif isinstance(cases, str | Path):
        table, source = DecisionTable.from_file(cases), str(cases)
    else:
        table, source = DecisionTable.from_data(cases), "<dict>"
    _check_principal_keys(table, policy, source)
    known = {rule.id for rule in policy.rules}
    results = []
    for index, case in enumerate(table.cases):
        principal = Principal.from_claims(case.claims())
        decision = policy.decide(principal, case.method or "", case.path)
        problems: list[str] = []
        actual = "allow" if decision.allowed else "deny"
        if actual != case.expect:
            problems.append(f"expected {case.expect}, got {actual}")
        if case.rule is not None:
            if case.rule not in known:
                problems.append(f"expected rule {case.rule!r} is not a rule of the policy")
            elif case.rule not in decision.rules:
                got = ", ".join(decision.rules) or "none (default deny)"
                problems.append(f"expected determining rule {case.rule!r}, got {got}")
        if case.reason is not None and case.reason != decision.reason:
            problems.append(f"expected reason {case.reason}, got {decision.reason}")
        results.append(CaseResult(index, case.label(index), case, decision, tuple(problems)))
    return TableResult(source, tuple(results))
