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

__all__ = [
    "FIRST_PLACEHOLDER",
    "AnswerTemplate",
    "Renaming",
    "RenderPlan",
    "key_plan",
    "plain_value",
    "plan_renaming",
    "rename",
    "renaming_parts",
    "render",
    "swap_of",
]

# Claims whose values decide reads through the principal's own lists, never renamed.
_LIST_CLAIMS = frozenset({"cognito:groups", "scope"})


def placeholder(index: int) -> str:
    """The ``index``-th placeholder: a plain segment, refused as a value by :func:`plan_renaming`."""
    return f"~{index}~"


_PLACEHOLDERS = tuple(placeholder(index) for index in range(16))


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


# Per policy: the claims whose values may be renamed (templated, neither a list nor a flag), in the order
# of ``condition_claims``. Worked out once, not on every new caller; entries keep their facts alive.
_RENAMABLE: dict[int, tuple[PolicyFacts, tuple[str, ...]]] = {}


def _renamable(facts: PolicyFacts) -> tuple[str, ...]:
    hit = _RENAMABLE.get(id(facts))
    if hit is not None and hit[0] is facts:
        return hit[1]
    names = tuple(
        name
        for name in facts.condition_claims
        if name in facts.templated_claims and name not in _LIST_CLAIMS and name not in facts.flag_claims
    )
    if len(_RENAMABLE) >= 64:
        _RENAMABLE.clear()
    _RENAMABLE[id(facts)] = (facts, names)
    return names


def key_plan(facts: PolicyFacts) -> tuple[tuple[str, bool], ...] | None:
    """Each claim a condition names (``condition_claims``, in order) and whether its value may be renamed,
    for the builder's one-pass memo key of the usual new caller; ``None`` when a condition names a list
    claim (``cognito:groups``, ``scope``: read through the principal's own lists, so only the general
    steps of :func:`renaming_parts` handle them)."""
    if any(name in _LIST_CLAIMS for name in facts.condition_claims):
        return None
    renamable = _renamable(facts)
    return tuple((name, name in renamable) for name in facts.condition_claims)


#: The placeholder of a caller's only renamed value.
FIRST_PLACEHOLDER = _PLACEHOLDERS[0]


def plain_value(value: str) -> bool:
    """:func:`~cognito_authz.iam.patterns.plain_segment` for a claim value, answered without the routing
    model for the usual ones: at most 256 ASCII letters, digits and ``-`` with at least one letter or digit
    (a Cognito ``sub`` is a UUID) hold none of the characters the plain test refuses, and are their own
    only request segment (no escape, no dot segment, not empty); anything else asks ``plain_segment``.
    ``tests/iam/test_iam_renaming.py`` holds the two to the same answers."""
    # On ASCII text bytes.isalnum accepts exactly what str.isalnum does (A-Z, a-z, 0-9, not empty) by a
    # table lookup per byte, where str.isalnum asks the Unicode database for each character.
    if len(value) <= 256 and value.isascii() and value.encode().replace(b"-", b"").isalnum():
        return True
    return plain_segment(value)


def plan_renaming(facts: PolicyFacts, principal: Principal) -> Renaming | None:
    """The renaming for ``principal``, or ``None`` when its values do not meet the conditions above."""
    parts = renaming_parts(facts, principal)
    if parts is None:
        return None
    values, named = parts
    # Through the slot descriptors (the frozen __init__ sets each field by name).
    renaming = _new_object(Renaming)
    _set_values(renaming, values)
    _set_principal(renaming, principal)
    _set_key(renaming, tuple(named.items()))
    return renaming


def renaming_parts(facts: PolicyFacts, principal: Principal) -> tuple[dict[str, str], dict[str, str]] | None:
    """What :func:`plan_renaming` finds, without building the :class:`Renaming`: placeholder -> value,
    and renamed claim -> placeholder in the order of ``condition_claims`` (``Renaming.key`` as a dict).
    A new caller whose answer is already settled for its shape needs no more (the builder makes the
    :class:`Renaming` only when it must settle or prove)."""
    claims = principal.claims
    literals = facts.literals
    hit = _RENAMABLE.get(id(facts))
    names = hit[1] if hit is not None and hit[0] is facts else _renamable(facts)
    index: dict[str, str] = {}  # value -> placeholder
    named: dict[str, str] = {}  # renamed claim -> placeholder
    for name in names:
        value = claims.get(name)
        if type(value) is not str or value in literals or not plain_value(value):
            continue
        if value.startswith("~"):
            return None  # could equal a placeholder: no renaming at all
        slot = index.get(value)
        if slot is None:
            slot = index[value] = _PLACEHOLDERS[len(index)] if len(index) < 16 else placeholder(len(index))
        named[name] = slot
    if not index:
        return None
    taken = None
    for name in facts.condition_claims:
        # An absent claim has no texts (list claims are read from the principal's own lists).
        if name in named or (name not in _LIST_CLAIMS and claims.get(name) is None):
            continue
        if taken is None:
            taken = {*index, *index.values()}
        texts = claim_texts(principal, name)
        if taken.intersection(texts):
            return None  # a claim kept as it is shares a value with a renamed one
        for text in texts:  # or a segment: a greedy parameter compares "acme/admin" segment by segment
            if "/" in text and not taken.isdisjoint(text.split("/")):
                return None
    values = {}  # placeholder -> value
    for value, slot in index.items():
        values[slot] = value
    return values, named


_new_object = object.__new__
_set_values = Renaming.__dict__["values"].__set__
_set_principal = Renaming.__dict__["principal"].__set__
_set_key = Renaming.__dict__["key"].__set__


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


class AnswerTemplate:
    """A stand-in's finished document (before the size check) prepared so that a new caller of its shape
    costs a few string formats: what :func:`render` gives, without walking every Resource per caller.

    Each Resource under ``prefix`` holding a placeholder as a whole path segment becomes a format string
    with a numbered slot where the placeholder stood; every other Resource is kept as text. Filling the
    slots with the caller's values is σ applied to the document (:func:`render`) exactly when no other path
    segment of the document equals one of the values (σ would turn that segment into a placeholder);
    :meth:`fill` checks that with one set test and renders the plain way otherwise. The size API Gateway
    counts (:func:`~cognito_authz.iam.document.document_size`) follows by arithmetic: compact JSON writes
    each string on its own, so replacing a placeholder by a value inside a Resource changes the size by the
    difference of their encoded lengths; values are plain segments (no ``"``, ``\\`` or control character,
    which JSON would escape), so a value's encoded length is its UTF-8 length.

    Built from an immutable snapshot: nothing :meth:`fill` returns shares a mutable object with it.
    """

    __slots__ = (
        "_constant_longest",
        "_counts",
        "_others",
        "_single",
        "_size",
        "_statements",
        "_version",
        "document",
        "placeholders",
    )

    def __init__(self, document: Mapping[str, Any], prefix: str, placeholders: tuple[str, ...], size: int):
        self.placeholders = placeholders
        self.document = render(document, prefix, {})  # a private copy (σ with no values is the identity)
        self._version = document["Version"]
        self._size = size
        slot_of = {p: i for i, p in enumerate(placeholders)}
        counts = [0] * len(placeholders)
        others: set[str] = set()  # every path segment σ could move other than a placeholder
        statements = []
        constant_longest = 0
        for statement in document["Statement"]:
            texts: list[str] = []
            # (position in Resource, text before the slot, slot, text after it), or with slot -1 and a
            # format string in place of the text before when there are several slots.
            slotted: list[tuple[int, str, int, str]] = []
            for position, resource in enumerate(statement["Resource"]):
                texts.append(resource)
                verb, slash, path = resource[len(prefix) :].partition("/")
                if not (resource.startswith(prefix) and slash):
                    constant_longest = max(constant_longest, len(resource))
                    continue  # rename leaves it as it is
                parts = path.split("/")
                if not any(part in slot_of for part in parts):
                    others.update(parts)
                    constant_longest = max(constant_longest, len(resource))
                    continue
                slots = [slot_of[part] for part in parts if part in slot_of]
                for slot in slots:
                    counts[slot] += 1
                others.update(part for part in parts if part not in slot_of)
                head = f"{prefix}{verb}/"
                if len(slots) == 1:
                    # One slot (the usual case): the text around it, joined with the value.
                    at = [part in slot_of for part in parts].index(True)
                    before = head + "".join(part + "/" for part in parts[:at])
                    after = "".join("/" + part for part in parts[at + 1 :])
                    slotted.append((position, before, slots[0], after))
                    continue
                pieces = [
                    f"{{{slot_of[part]}}}" if part in slot_of else part.replace("{", "{{").replace("}", "}}")
                    for part in parts
                ]
                escaped_head = head.replace("{", "{{").replace("}", "}}")
                slotted.append((position, escaped_head + "/".join(pieces), -1, ""))  # a format string
            # A private copy (its Resource is replaced on every fill, keeping the key's place).
            statements.append((dict(statement), tuple(texts), tuple(slotted)))
        self._statements = tuple(statements)
        self._others = frozenset(others)
        # (slot, occurrences, placeholder length) of each slot the document holds, for the size.
        self._counts = tuple((i, n, len(placeholders[i])) for i, n in enumerate(counts) if n)
        self._constant_longest = constant_longest
        self._single = _single_value_form(document, prefix, placeholders)

    def fill(self, values: Mapping[str, str]) -> tuple[dict[str, Any], int, int] | None:
        """The caller's document (σ applied), its compact-JSON size and its longest Resource; ``None``
        when a segment of the document equals one of the values (then only :func:`render` is σ)."""
        single = self._single
        if single is not None:
            # One value (the usual: a sub): each Resource is the value joined between its pieces (a
            # constant one is one piece, which join hands back as it is), one C-level pass a statement.
            value = values[self.placeholders[0]]
            if value in self._others:
                return None
            pieces_of, lengths, occurrences, placeholder_length = single
            join = value.join
            statements = []
            for statement, kept, holding in pieces_of:
                # A copy of the private statement with a fresh Resource list (a copy and a store cost less
                # than a merged literal; [*kept] less than list(kept)).
                resources = [*kept]
                for position, pieces in holding:
                    resources[position] = join(pieces)
                filled_statement = statement.copy()
                filled_statement["Resource"] = resources
                statements.append(filled_statement)
            n = len(value)
            longest = self._constant_longest
            for fixed, count in lengths:
                if fixed + count * n > longest:
                    longest = fixed + count * n
            encoded = n if value.isascii() else len(value.encode("utf-8"))
            size = self._size + occurrences * (encoded - placeholder_length)
            return {"Version": self._version, "Statement": statements}, size, longest
        ordered = list(map(values.__getitem__, self.placeholders))
        if not self._others.isdisjoint(ordered):
            return None
        statements = []
        longest = self._constant_longest
        for statement, texts, slotted in self._statements:
            resources = [*texts]
            for position, before, slot, after in slotted:
                filled = before + ordered[slot] + after if slot >= 0 else before.format(*ordered)
                resources[position] = filled
                if len(filled) > longest:
                    longest = len(filled)
            filled_statement = statement.copy()
            filled_statement["Resource"] = resources
            statements.append(filled_statement)
        size = self._size
        for slot, count, placeholder_length in self._counts:
            value = ordered[slot]
            encoded = len(value) if value.isascii() else len(value.encode("utf-8"))
            size += count * (encoded - placeholder_length)
        return {"Version": self._version, "Statement": statements}, size, longest


# Per statement of a one-placeholder template: a private copy, its Resources, and (position, pieces)
# of each Resource holding the placeholder.
_SingleStatement = tuple[dict[str, Any], tuple[str, ...], tuple[tuple[int, tuple[str, ...]], ...]]


def _single_value_form(
    document: Mapping[str, Any], prefix: str, placeholders: tuple[str, ...]
) -> tuple[tuple[_SingleStatement, ...], tuple[tuple[int, int], ...], int, int] | None:
    """An :class:`AnswerTemplate` of one placeholder, prepared for ``value.join``: per statement a private
    copy, its Resources, and for each Resource holding the placeholder its position and the texts
    between the placeholder's segments, so that ``value.join(pieces)`` is the Resource :func:`rename`
    gives (one C call, however many times the value occurs); the (length without the value, occurrences)
    pairs of those Resources, for the longest; the placeholder's occurrences and length, for the size.
    ``None`` with several placeholders (the slot-by-slot fill)."""
    if len(placeholders) != 1:
        return None
    (wanted,) = placeholders
    pieces_of: list[_SingleStatement] = []
    longest_of: dict[int, int] = {}  # occurrences in a Resource -> its longest length without them
    occurrences = 0
    for statement in document["Statement"]:
        slotted: list[tuple[int, tuple[str, ...]]] = []
        for position, resource in enumerate(statement["Resource"]):
            verb, slash, path = resource[len(prefix) :].partition("/")
            parts = path.split("/") if resource.startswith(prefix) and slash else []
            count = parts.count(wanted)
            if not count:
                continue
            occurrences += count
            texts = [f"{prefix}{verb}/"]
            for index, part in enumerate(parts):
                if index:
                    texts[-1] += "/"
                if part == wanted:
                    texts.append("")
                else:
                    texts[-1] += part
            slotted.append((position, tuple(texts)))
            fixed = sum(map(len, texts))
            if fixed > longest_of.get(count, -1):
                longest_of[count] = fixed
        pieces_of.append((dict(statement), tuple(statement["Resource"]), tuple(slotted)))
    lengths = tuple((fixed, count) for count, fixed in longest_of.items())
    return tuple(pieces_of), lengths, occurrences, len(wanted)
