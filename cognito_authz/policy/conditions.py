"""Conditions compiled for evaluation: ``when`` / ``unless`` blocks turned into small checks over a
:class:`Subject` (the per-decision view of a ``Principal``) and the route's path parameters.

Claim comparison rule (one rule for every kind of claim condition): a claim value is compared as text
(integers by their decimal form), a boolean also matches the strings ``"true"``/``"false"`` in any case
(API Gateway forwards booleans as strings), a list-valued claim matches when any item matches, and
``cognito:groups`` / ``scope`` are read in the normalized form the ``Principal`` gives them. A
``"{param}"`` template compares the path parameter with the claim the same way; ``"*"`` means present
and non-empty.

Besides deciding, a compiled condition can enumerate the path-parameter bindings under which it holds
for one principal (:meth:`CompiledCondition.alternatives`); ``allowed_routes`` is built on that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cognito_authz.policy.model import ClaimScalar, ClaimSpec, Condition, template_param
from cognito_authz.policy.routes import Route, could_be_param
from cognito_authz.principal import Principal, normalize_bool, normalize_string_list

__all__ = [
    "MAX_ALTERNATIVES",
    "ClaimTest",
    "CompiledCondition",
    "Subject",
    "claim_items",
    "value_keys",
]

#: Upper bound on the parameter bindings enumerated for one condition and principal. Claims are bounded
#: by the token size, but two templates bound to two long list claims multiply; beyond this the caller
#: falls back to a sound approximation (see ``Policy.allowed_routes``).
MAX_ALTERNATIVES = 1000

#: ``("s", text)`` or ``("b", flag)``: the comparable forms of one claim value.
ValueKey = tuple[str, Any]
Binding = dict[str, str]


@dataclass(frozen=True, slots=True)
class Subject:
    """What conditions read from a principal, normalized once per decision."""

    groups: frozenset[str]
    scopes: frozenset[str]
    group_items: tuple[str, ...]
    scope_items: tuple[str, ...]
    token_use: str | None
    client_id: str | None
    claims: Mapping[str, Any]

    @classmethod
    def of(cls, principal: Principal) -> Subject:
        """Build the view; tolerates a hand-built ``Principal`` whose fields hold strings or lists."""
        groups = _names(principal.groups)
        scopes = _names(principal.scopes)
        claims = principal.claims if isinstance(principal.claims, Mapping) else {}
        token_use = principal.token_use if isinstance(principal.token_use, str) else None
        client_id = principal.client_id if isinstance(principal.client_id, str) else None
        return cls(frozenset(groups), frozenset(scopes), groups, scopes, token_use, client_id, claims)


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, tuple) and all(isinstance(item, str) and item for item in value):
        return value
    return normalize_string_list(value)


def claim_items(subject: Subject, claim: str) -> tuple[object, ...] | None:
    """The values of ``claim`` as a tuple (a list claim gives its items), or ``None`` when absent."""
    if claim == "cognito:groups":
        return subject.group_items if subject.group_items else None
    if claim == "scope":
        return subject.scope_items if subject.scope_items else None
    value = subject.claims.get(claim)
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,)


def value_keys(value: object) -> tuple[ValueKey, ...]:
    """The comparable forms of a claim value; an unsupported type (float, dict, None) has none."""
    if isinstance(value, bool):
        return (("b", value), ("s", "true" if value else "false"))
    if isinstance(value, int):
        return (("s", str(value)),)
    if isinstance(value, str):
        flag = normalize_bool(value)
        if isinstance(flag, bool):
            return (("s", value), ("b", flag))
        return (("s", value),)
    return ()


def _literal_key(value: ClaimScalar) -> ValueKey:
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int):
        return ("s", str(value))
    return ("s", value)


def _present(items: tuple[object, ...] | None) -> bool:
    if items is None:
        return False
    return any(item is not None and item != "" and item != [] for item in items)


Check = Callable[[Subject], bool]


@dataclass(frozen=True, slots=True)
class ClaimTest:
    """One ``claims`` entry: literal values (equals / one of), parameter templates, or presence."""

    claim: str
    literals: frozenset[ValueKey]
    params: tuple[str, ...]
    present: bool

    @classmethod
    def compile(cls, claim: str, spec: ClaimSpec) -> ClaimTest:
        """Split ``spec`` into literals and templates (the model has validated it)."""
        if spec == "*":
            return cls(claim, frozenset(), (), True)
        values = spec if isinstance(spec, tuple) else (spec,)
        literals: set[ValueKey] = set()
        params: list[str] = []
        for value in values:
            name = template_param(value)
            if name is not None:
                params.append(name)
            else:
                literals.add(_literal_key(value))
        return cls(claim, frozenset(literals), tuple(dict.fromkeys(params)), False)

    def holds(self, subject: Subject, params: Mapping[str, str]) -> bool:
        """Whether the claim satisfies this test for a request with these path parameters."""
        items = claim_items(subject, self.claim)
        if self.present:
            return _present(items)
        if items is None:
            return False
        wanted = self.literals
        if self.params:
            wanted = wanted | {("s", params[name]) for name in self.params if name in params}
        for item in items:
            for key in value_keys(item):
                if key in wanted:
                    return True
        return False

    def alternatives(self, subject: Subject, route: Route) -> list[Binding]:
        """Bindings under which this test holds: ``[{}]`` unconditionally, ``[]`` never."""
        items = claim_items(subject, self.claim)
        if self.present:
            return [{}] if _present(items) else []
        if items is None:
            return []
        texts: list[str] = []
        for item in items:
            for key in value_keys(item):
                if key in self.literals:
                    return [{}]
                if key[0] == "s" and key[1] not in texts:
                    texts.append(key[1])
        greedy_name = route.params[-1] if route.greedy else None
        out: list[Binding] = []
        for name in self.params:
            greedy = name == greedy_name
            out.extend({name: text} for text in texts if could_be_param(text, greedy=greedy))
        return out


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """A ``when`` or ``unless`` block: every static check and every claim test must hold."""

    source: Condition
    checks: tuple[Check, ...]
    claim_tests: tuple[ClaimTest, ...]

    @classmethod
    def compile(cls, condition: Condition) -> CompiledCondition:
        """Turn the model into checks; each list becomes a frozenset once, here, not per decision."""
        checks: list[Check] = []
        if condition.groups is not None:
            checks.append(_any_of("groups", frozenset(condition.groups)))
        if condition.all_groups is not None:
            checks.append(_all_of("groups", frozenset(condition.all_groups)))
        if condition.scopes is not None:
            checks.append(_any_of("scopes", frozenset(condition.scopes)))
        if condition.all_scopes is not None:
            checks.append(_all_of("scopes", frozenset(condition.all_scopes)))
        if condition.token_use is not None:
            checks.append(_one_of("token_use", frozenset(condition.token_use)))
        if condition.client_id is not None:
            checks.append(_one_of("client_id", frozenset(condition.client_id)))
        tests = tuple(ClaimTest.compile(claim, spec) for claim, spec in (condition.claims or {}).items())
        return cls(condition, tuple(checks), tests)

    @property
    def uses_params(self) -> bool:
        """Whether any claim test compares with a path parameter."""
        return any(test.params for test in self.claim_tests)

    def holds(self, subject: Subject, params: Mapping[str, str]) -> bool:
        """Every check and claim test holds."""
        for check in self.checks:
            if not check(subject):
                return False
        return all(test.holds(subject, params) for test in self.claim_tests)

    def static_holds(self, subject: Subject) -> bool:
        """The checks that do not involve claims hold (groups, scopes, token_use, client_id)."""
        return all(check(subject) for check in self.checks)

    def failing(self, subject: Subject, params: Mapping[str, str]) -> list[str]:
        """Names of the conditions that do not hold (for explanations)."""
        names = [
            name
            for name in ("groups", "all_groups", "scopes", "all_scopes", "token_use", "client_id")
            if getattr(self.source, name) is not None
        ]
        failed = [name for name, check in zip(names, self.checks, strict=True) if not check(subject)]
        failed.extend(f"claims.{test.claim}" for test in self.claim_tests if not test.holds(subject, params))
        return failed

    def alternatives(self, subject: Subject, route: Route) -> list[Binding] | None:
        """Parameter bindings (a disjunction of conjunctions) under which the condition holds for this
        subject on ``route``: ``[{}]`` always, ``[]`` never, ``None`` if more than
        :data:`MAX_ALTERNATIVES` would be needed."""
        if not self.static_holds(subject):
            return []
        result: list[Binding] = [{}]
        for test in self.claim_tests:
            options = test.alternatives(subject, route)
            if not options:
                return []
            if {} in options:
                continue
            combined: list[Binding] = []
            for left in result:
                for right in options:
                    merged = _merge(left, right)
                    if merged is not None and merged not in combined:
                        combined.append(merged)
                        if len(combined) > MAX_ALTERNATIVES:
                            return None
            if not combined:
                return []
            result = combined
        return result


def _merge(left: Binding, right: Binding) -> Binding | None:
    for name, value in right.items():
        if left.get(name, value) != value:
            return None
    return {**left, **right}


def _any_of(attribute: str, wanted: frozenset[str]) -> Check:
    if attribute == "groups":
        return lambda subject: not wanted.isdisjoint(subject.groups)
    return lambda subject: not wanted.isdisjoint(subject.scopes)


def _all_of(attribute: str, wanted: frozenset[str]) -> Check:
    if attribute == "groups":
        return lambda subject: wanted <= subject.groups
    return lambda subject: wanted <= subject.scopes


def _one_of(attribute: str, wanted: frozenset[str]) -> Check:
    if attribute == "token_use":
        return lambda subject: subject.token_use in wanted
    return lambda subject: subject.client_id in wanted
