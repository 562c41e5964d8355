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
from types import MappingProxyType
from typing import Any

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.policy.model import ClaimSpec, Condition, template_param
from cognito_authz.policy.routes import Route, could_be_param
from cognito_authz.principal import Principal, normalize_bool, normalize_string_list

__all__ = [
    "MAX_ALTERNATIVES",
    "ClaimTest",
    "Claimant",
    "CompiledCondition",
    "Subject",
    "Test",
    "claim_items",
    "claim_text",
    "view",
]

#: Upper bound on the parameter bindings enumerated for one condition and principal. Claims are bounded
#: by the token size, but two templates bound to two long list claims multiply; beyond this the caller
#: falls back to a sound approximation (see ``Policy.allowed_routes``).
MAX_ALTERNATIVES = 1000

Binding = dict[str, str]


class Subject:
    """What conditions read from a principal: its fields, with odd shapes normalized.

    Built once per decision, so it trusts the shapes ``Principal.from_claims`` produces (tuples of
    strings, a mapping of claims) and only normalizes what a hand-built ``Principal`` might hold.
    """

    __slots__ = ("claims", "client_id", "groups", "scopes", "token_use")

    def __init__(self, principal: Principal) -> None:
        groups = principal.groups
        self.groups: tuple[str, ...] = groups if type(groups) is tuple else normalize_string_list(groups)
        scopes = principal.scopes
        self.scopes: tuple[str, ...] = scopes if type(scopes) is tuple else normalize_string_list(scopes)
        claims = principal.claims
        if type(claims) is not MappingProxyType and not isinstance(claims, Mapping):
            claims = {}
        self.claims: Mapping[str, Any] = claims
        token_use = principal.token_use
        self.token_use: str | None = token_use if type(token_use) is str else None
        client_id = principal.client_id
        self.client_id: str | None = client_id if type(client_id) is str else None

    @classmethod
    def of(cls, principal: Principal) -> Subject:
        """Same as the constructor (reads well at call sites)."""
        return cls(principal)


def view(principal: Principal) -> Claimant:
    """What the tests read for ``principal``: the principal itself when it has the shapes
    ``Principal.from_claims`` builds (the per-request case: no copy), else a normalized :class:`Subject`.
    """
    if (
        type(principal.groups) is tuple
        and type(principal.scopes) is tuple
        and type(principal.claims) is MappingProxyType
        and (principal.token_use is None or type(principal.token_use) is str)
        and (principal.client_id is None or type(principal.client_id) is str)
    ):
        return principal
    return Subject(principal)


#: Either view of a caller: both expose groups, scopes, token_use, client_id and claims.
Claimant = Subject | Principal


def claim_items(subject: Claimant, claim: str) -> tuple[object, ...] | None:
    """The values of ``claim`` as a tuple (a list claim gives its items), or ``None`` when absent."""
    if claim == "cognito:groups":
        return subject.groups if subject.groups else None
    if claim == "scope":
        return subject.scopes if subject.scopes else None
    value = subject.claims.get(claim)
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,)


def claim_text(value: object) -> str | None:
    """The text a claim value compares as: strings as they are, integers in decimal, booleans as
    ``"true"``/``"false"``; ``None`` for anything else (floats, objects, ``None``)."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return str(value)
    return None


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        flag = normalize_bool(value)
        if isinstance(flag, bool):
            return flag
    return None


def _present(items: tuple[object, ...] | None) -> bool:
    if items is None:
        return False
    return any(item is not None and item != "" and item != [] for item in items)


_NO_PARAMS: Mapping[str, str] = MappingProxyType({})
#: Claims read from the Principal's normalized lists rather than from the raw claims.
_LIST_CLAIMS = frozenset({"cognito:groups", "scope"})

#: One compiled condition test: ``(subject, path_params) -> holds``.
Test = Callable[[Claimant, Mapping[str, str]], bool]


class ClaimTest(Frozen):
    """One ``claims`` entry: literal values (equals / one of), parameter templates, or presence.

    Literal strings and integers live in ``texts`` (their claim text), boolean literals in ``flags``.
    """

    __slots__ = ("claim", "flags", "params", "present", "texts")
    claim: str
    texts: frozenset[str]
    flags: frozenset[bool]
    params: tuple[str, ...]
    present: bool

    def __init__(
        self,
        claim: str,
        texts: frozenset[str],
        flags: frozenset[bool],
        params: tuple[str, ...],
        present: bool,
    ) -> None:
        set_field(self, "claim", claim)
        set_field(self, "texts", texts)
        set_field(self, "flags", flags)
        set_field(self, "params", params)
        set_field(self, "present", present)

    @classmethod
    def compile(cls, claim: str, spec: ClaimSpec) -> ClaimTest:
        """Split ``spec`` into literals and templates (the model has validated it)."""
        if spec == "*":
            return cls(claim, frozenset(), frozenset(), (), True)
        values = spec if isinstance(spec, tuple) else (spec,)
        texts: set[str] = set()
        flags: set[bool] = set()
        params: list[str] = []
        for value in values:
            name = template_param(value)
            if name is not None:
                params.append(name)
            elif isinstance(value, bool):
                flags.add(value)
            else:
                texts.add(str(value))
        return cls(claim, frozenset(texts), frozenset(flags), tuple(dict.fromkeys(params)), False)

    def _literal(self, item: object, text: str | None) -> bool:
        if text is not None and text in self.texts:
            return True
        if self.flags:
            flag = _flag(item)
            return flag is not None and flag in self.flags
        return False

    def holds(self, subject: Claimant, params: Mapping[str, str]) -> bool:
        """Whether the claim satisfies this test for a request with these path parameters."""
        if self.present:
            return _present(claim_items(subject, self.claim))
        value = subject.claims.get(self.claim) if self.claim not in _LIST_CLAIMS else None
        if type(value) is str:
            # the usual case (a string claim), without building a tuple of one item
            if value in self.texts:
                return True
            for name in self.params:
                if params.get(name) == value:
                    return True
            return bool(self.flags) and self._literal(value, value)
        items = claim_items(subject, self.claim)
        if items is None:
            return False
        for item in items:
            text = claim_text(item)
            if self._literal(item, text):
                return True
            if text is not None:
                for name in self.params:
                    if params.get(name) == text:
                        return True
        return False

    def alternatives(self, subject: Claimant, route: Route) -> list[Binding]:
        """Bindings under which this test holds: ``[{}]`` unconditionally, ``[]`` never."""
        items = claim_items(subject, self.claim)
        if self.present:
            return [{}] if _present(items) else []
        if items is None:
            return []
        texts: list[str] = []
        for item in items:
            text = claim_text(item)
            if self._literal(item, text):
                return [{}]
            if text is not None and text not in texts:
                texts.append(text)
        greedy_name = route.params[-1] if route.greedy else None
        out: list[Binding] = []
        for name in self.params:
            greedy = name == greedy_name
            out.extend({name: text} for text in texts if could_be_param(text, greedy=greedy))
        return out


class CompiledCondition(Frozen):
    """A ``when`` or ``unless`` block: every static check and every claim test must hold.

    ``tests`` holds both kinds as plain callables so a decision runs one flat loop.
    """

    __slots__ = ("checks", "claim_tests", "source", "tests")
    source: Condition
    checks: tuple[Test, ...]
    claim_tests: tuple[ClaimTest, ...]
    tests: tuple[Test, ...]

    def __init__(
        self,
        source: Condition,
        checks: tuple[Test, ...],
        claim_tests: tuple[ClaimTest, ...],
        tests: tuple[Test, ...],
    ) -> None:
        set_field(self, "source", source)
        set_field(self, "checks", checks)
        set_field(self, "claim_tests", claim_tests)
        set_field(self, "tests", tests)

    @classmethod
    def compile(cls, condition: Condition) -> CompiledCondition:
        """Turn the model into checks; each list becomes a frozenset once, here, not per decision."""
        checks: list[Test] = []
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
        claim_tests = tuple(
            ClaimTest.compile(claim, spec) for claim, spec in (condition.claims or {}).items()
        )
        tests: list[Test] = [*checks, *(test.holds for test in claim_tests)]
        return cls(condition, tuple(checks), claim_tests, tuple(tests))

    @property
    def uses_params(self) -> bool:
        """Whether any claim test compares with a path parameter."""
        return any(test.params for test in self.claim_tests)

    def holds(self, subject: Claimant, params: Mapping[str, str]) -> bool:
        """Every check and claim test holds."""
        for test in self.tests:  # noqa: SIM110 - a plain loop is faster on this per-request path
            if not test(subject, params):
                return False
        return True

    def static_holds(self, subject: Claimant) -> bool:
        """The checks that do not involve claims hold (groups, scopes, token_use, client_id)."""
        return all(check(subject, _NO_PARAMS) for check in self.checks)

    def failing(self, subject: Claimant, params: Mapping[str, str]) -> list[str]:
        """Names of the conditions that do not hold (for explanations)."""
        names = [
            name
            for name in ("groups", "all_groups", "scopes", "all_scopes", "token_use", "client_id")
            if getattr(self.source, name) is not None
        ]
        failed = [name for name, check in zip(names, self.checks, strict=True) if not check(subject, params)]
        failed.extend(f"claims.{test.claim}" for test in self.claim_tests if not test.holds(subject, params))
        return failed

    def alternatives(self, subject: Claimant, route: Route) -> list[Binding] | None:
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


def _any_of(attribute: str, wanted: frozenset[str]) -> Test:
    # Two-argument tests (the path parameters are ignored) so a decision calls each test directly.
    if attribute == "groups":
        return lambda subject, params: not wanted.isdisjoint(subject.groups)
    return lambda subject, params: not wanted.isdisjoint(subject.scopes)


def _all_of(attribute: str, wanted: frozenset[str]) -> Test:
    if attribute == "groups":
        return lambda subject, params: wanted.issubset(subject.groups)
    return lambda subject, params: wanted.issubset(subject.scopes)


def _one_of(attribute: str, wanted: frozenset[str]) -> Test:
    if attribute == "token_use":
        return lambda subject, params: subject.token_use in wanted
    return lambda subject, params: subject.client_id in wanted
