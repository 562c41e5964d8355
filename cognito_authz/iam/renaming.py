"""One proof for every caller that differs only in template-bound claim values (soundness of the memo).

A new user must not cost a full proof, so a document proved for a stand-in caller is reused for the real
one. The transfer is exact (step 5 in ``docs/architecture.md``, "Cached authorizer answers are exact"):
the stand-in carries placeholders ``p_i`` where the caller carries values ``v_i``, and σ, the bijection
of segment strings that swaps each ``p_i`` with ``v_i`` and fixes every other string, maps the stand-in's
world onto the caller's:

- σ fixes every literal the policy, the table and the conditions compare with, because no ``p_i`` or
  ``v_i`` is such a literal (:func:`plan_renaming` refuses otherwise);
- σ maps the stand-in's compared claim texts to the caller's and fixes all others, because a renamed
  claim is a single plain string and no other compared claim text equals a ``p_i`` or ``v_i``;
- so for every word ``w``: ``decide(stand-in, w) == decide(caller, σw)``, ``routable(w) == routable(σw)``
  and a glob matches ``w`` exactly when its σ-image matches ``σw``, since values and placeholders are
  whole plain segments (no ``*``, ``?``, ``%``, ``/``: :func:`~cognito_authz.iam.patterns.plain_segment`).

Hence the stand-in's checked document, σ applied to its whole path segments (:func:`render`), is sound
and exact for the caller exactly when it is for the stand-in.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.iam.patterns import plain_segment
from cognito_authz.iam.world import PolicyFacts, claim_texts
from cognito_authz.principal import Principal

__all__ = ["Renaming", "RenderPlan", "plan_renaming", "rename", "render", "swap_of"]

# Claims whose values decide reads through the principal's own lists, never renamed.
_LIST_CLAIMS = frozenset({"cognito:groups", "scope"})


def placeholder(index: int) -> str:
    """The ``index``-th placeholder: a plain segment, refused as a value by :func:`plan_renaming`."""
    return f"~{index}~"


class Renaming(Frozen):
    """placeholder -> value, the stand-in caller, and the memo key part it leaves (value-free).

    ``key`` is (claim name, placeholder) for each renamed claim. The stand-in is built only when asked
    (a proof is needed): a caller whose proof is memoized never pays for it.
    """

    __slots__ = ("key", "principal", "values")
    values: Mapping[str, str]
    principal: Principal
    key: tuple[tuple[str, str], ...]

    def __init__(
        self,
        values: Mapping[str, str],
        principal: Principal,
        key: tuple[tuple[str, str], ...],
    ) -> None:
        set_field(self, "values", values)
        set_field(self, "principal", principal)
        set_field(self, "key", key)

    @property
    def stand_in(self) -> Principal:
        """The caller with each renamed claim's value replaced by its placeholder."""
        claims = dict(self.principal.claims)
        claims.update(self.key)
        sub = claims["sub"] if "sub" in dict(self.key) else self.principal.sub
        caller = self.principal
        return Principal(
            sub,
            caller.username,
            caller.groups,
            caller.scopes,
            caller.token_use,
            caller.client_id,
            caller.issuer,
            MappingProxyType(claims),
        )


def plan_renaming(facts: PolicyFacts, principal: Principal) -> Renaming | None:
    """The renaming for ``principal``, or ``None`` when its values do not meet the conditions above."""
    claims = principal.claims
    index: dict[str, str] = {}  # value -> placeholder
    renamed: list[str] = []
    for name in facts.condition_claims:
        if name not in facts.templated_claims or name in _LIST_CLAIMS or name in facts.flag_claims:
            continue
        value = claims.get(name)
        if type(value) is not str or not plain_segment(value) or value in facts.literals:
            continue
        if value.startswith("~"):
            return None  # could equal a placeholder: no renaming at all
        index.setdefault(value, placeholder(len(index)))
        renamed.append(name)
    if not index:
        return None
    taken = set(index) | set(index.values())
    for name in facts.condition_claims:
        if name not in renamed and taken.intersection(claim_texts(principal, name)):
            return None  # a claim kept as it is shares a value with a renamed one
    key = tuple((name, index[claims[name]]) for name in renamed)
    return Renaming({p: v for v, p in index.items()}, principal, key)


def swap_of(values: Mapping[str, str]) -> dict[str, str]:
    """σ as a table (placeholder -> value and value -> placeholder); every other string is fixed."""
    return {**{v: p for p, v in values.items()}, **values}


def rename(text: str, prefix: str, swap: Mapping[str, str]) -> str:
    """σ applied to every whole path segment of one Resource, or one request ARN, under ``prefix``.

    σ is its own inverse, so a request ARN ``a`` is allowed by the rendered document exactly when
    ``rename(a)`` is allowed by the stand-in's one (a glob matches ``w`` exactly when its σ-image matches
    ``σw``): the builder guards the current request with the stand-in's compiled evaluator that way.
    """
    verb, slash, path = text[len(prefix) :].partition("/")
    if text.startswith(prefix) and slash:
        path = "/".join(swap.get(part, part) for part in path.split("/"))
        return f"{prefix}{verb}/{path}"
    return text


class RenderPlan(Frozen):
    """:func:`render` of one document, prepared once: each Resource with the set of its path segments,
    so rendering for a new caller rewrites only the Resources holding a segment σ moves (the rest are
    kept as they are, which is what :func:`rename` does with them). Same result as :func:`render`."""

    __slots__ = ("prefix", "statements", "version")
    version: Any
    prefix: str
    statements: tuple[tuple[Mapping[str, Any], tuple[tuple[str, frozenset[str]], ...]], ...]

    def __init__(
        self,
        version: Any,
        prefix: str,
        statements: tuple[tuple[Mapping[str, Any], tuple[tuple[str, frozenset[str]], ...]], ...],
    ) -> None:
        set_field(self, "version", version)
        set_field(self, "prefix", prefix)
        set_field(self, "statements", statements)

    @classmethod
    def of(cls, document: Mapping[str, Any], prefix: str) -> RenderPlan:
        statements = []
        for statement in document["Statement"]:
            resources = []
            for resource in statement["Resource"]:
                _verb, slash, path = resource[len(prefix) :].partition("/")
                under = resource.startswith(prefix) and slash
                resources.append((resource, frozenset(path.split("/")) if under else frozenset()))
            statements.append((statement, tuple(resources)))
        return cls(document["Version"], prefix, tuple(statements))

    def render(self, values: Mapping[str, str]) -> dict[str, Any]:
        swap = swap_of(values)
        prefix = self.prefix
        return {
            "Version": self.version,
            "Statement": [
                {
                    **statement,
                    "Resource": [
                        r if segments.isdisjoint(swap) else rename(r, prefix, swap)
                        for r, segments in resources
                    ],
                }
                for statement, resources in self.statements
            ],
        }


def render(document: Mapping[str, Any], prefix: str, values: Mapping[str, str]) -> dict[str, Any]:
    """The document with σ applied to every whole path segment of its Resources under ``prefix``."""
    swap = swap_of(values)
    statements = [
        {**statement, "Resource": [rename(r, prefix, swap) for r in statement["Resource"]]}
        for statement in document["Statement"]
    ]
    return {"Version": document["Version"], "Statement": statements}
