"""Who the caller is: the ``Principal`` built from verified claims, and claim normalization.

Claims arrive in two shapes: as JSON types from a verified token, and as strings when API Gateway has
already verified the token and forwards the claims to a handler (``"[admin support]"`` for a list,
``"true"`` for a boolean). Normalization lives here so every adapter and the policy engine see one shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from cognito_authz._frozen import Frozen
from cognito_authz.claim_checks import explain_claim_types

__all__ = ["Principal", "derived_answers", "normalize_bool", "normalize_string_list"]


_STR_ONLY = frozenset({str})
# The type checks' fast path reads cognito:groups with this default (an absent claim passes).
_NO_GROUPS: list[str] = []
#: The claims of a principal built without any (read-only, so one instance serves them all).
_NO_CLAIMS: Mapping[str, Any] = MappingProxyType({})


def normalize_string_list(value: Any, *, separators: str = ",") -> tuple[str, ...]:
    """Return a claim that should be a list of strings as a tuple of non-empty strings.

    Accepts a JSON list (non-string items are dropped, never coerced: a group named ``1`` in a token is a
    type error upstream, not an admin), ``None``, and the string shapes API Gateway forwards:
    ``"a,b"``, ``"[a b]"``, ``"[a, b]"`` and ``"a b"``. ``separators`` names extra split characters besides
    whitespace.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        plain = "[" not in value
        for sep in separators:
            plain = plain and sep not in value
        if plain:
            # The usual shapes (a scope claim, one group): whitespace-separated words, so the bracket
            # and separator handling below would change nothing. Splitting drops empty words too.
            words = value.split()
            if len(words) < 2 or len(set(words)) == len(words):
                return tuple(words)
            return tuple(dict.fromkeys(words))
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        for sep in separators:
            text = text.replace(sep, " ")
        return tuple(dict.fromkeys(part for part in text.split() if part))
    if isinstance(value, (list, tuple)):
        # The usual shape (cognito:groups from a token): distinct non-empty strings, checked with C-level
        # passes instead of a generator over the items.
        if not value:
            return ()
        if "" not in value and set(map(type, value)) == _STR_ONLY and len(set(value)) == len(value):
            return tuple(value)
        return tuple(dict.fromkeys(item for item in value if isinstance(item, str) and item))
    return ()


def normalize_bool(value: Any) -> Any:
    """``"true"``/``"false"`` (any case) become booleans; anything else is returned unchanged."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return value


_BOOLEAN_CLAIMS = ("email_verified", "phone_number_verified")


class Principal(Frozen, hidden=("_derived",)):
    """The verified caller.

    ``groups`` and ``scopes`` are always tuples (possibly empty); ``claims`` is a read-only mapping of every
    claim, ``custom:*`` included, with the well-known boolean claims normalized.

    ``client_id`` is the app client the verifier checked: ``aud`` for an ID token, the ``client_id`` claim
    for an access token (a ``client_id`` claim in an ID token is just another claim, never the client).
    A machine-to-machine token (client credentials grant) is an access token whose ``sub`` is its client
    id, with no ``username`` and no groups: :attr:`is_machine` says so.
    """

    # ``_derived``: answers higher layers worked out for this principal (see :func:`derived_answers`); a
    # cache, not a field: never compared, hashed, shown, copied or pickled.
    __slots__ = (
        "_derived",
        "claims",
        "client_id",
        "groups",
        "issuer",
        "scopes",
        "sub",
        "token_use",
        "username",
    )
    sub: str
    username: str | None
    groups: tuple[str, ...]
    scopes: tuple[str, ...]
    token_use: str | None
    client_id: str | None
    issuer: str | None
    claims: Mapping[str, Any]
    _derived: dict[Any, Any] | None

    def __init__(
        self,
        sub: str,
        username: str | None = None,
        groups: tuple[str, ...] = (),
        scopes: tuple[str, ...] = (),
        token_use: str | None = None,
        client_id: str | None = None,
        issuer: str | None = None,
        claims: Mapping[str, Any] = _NO_CLAIMS,
    ) -> None:
        # Through the slot descriptors (below the class), which bypass the frozen __setattr__.
        _set_sub(self, sub)
        _set_username(self, username)
        _set_groups(self, groups)
        _set_scopes(self, scopes)
        _set_token_use(self, token_use)
        _set_client_id(self, client_id)
        _set_issuer(self, issuer)
        _set_claims(self, claims)
        _set_derived(self, None)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Build a principal from a claims mapping, normalizing the shapes described in the module doc."""
        normalized: dict[str, Any] = dict(claims)
        for name in _BOOLEAN_CLAIMS:
            if name in normalized:
                normalized[name] = normalize_bool(normalized[name])
        get = normalized.get
        token_use = get("token_use")
        # The value the verifier checked (docs/verifier.md): aud for ID tokens, client_id otherwise.
        client_id = get("aud") if token_use == "id" else get("client_id")
        username = get("username")
        if username is None:
            username = get("cognito:username")
        sub = get("sub")
        issuer = get("iss")
        # Positional: this runs on every fresh verify, and keyword calls cost more.
        return cls(
            sub if isinstance(sub, str) else "",
            username if isinstance(username, str) else None,
            normalize_string_list(get("cognito:groups")),
            normalize_string_list(get("scope"), separators=""),
            token_use if isinstance(token_use, str) else None,
            client_id if isinstance(client_id, str) else None,
            issuer if isinstance(issuer, str) else None,
            MappingProxyType(normalized),
        )

    @staticmethod
    def _of_verified(claims: dict[str, Any]) -> Principal:
        """The verifier's principal of a signed token: its claim types checked, then ``from_claims``'s.

        Only for a claims dict the caller owns (it becomes the principal's ``claims``, normalized in
        place). The claim type checks of :func:`~cognito_authz.claim_checks.check_claim_types` run here,
        in the same one expression, so the claims both need are read once; anything that expression
        does not accept goes to :func:`~cognito_authz.claim_checks.explain_claim_types`, which raises the
        precise error or lets the claims through. Those checks make ``from_claims``'s copy and type tests
        redundant; everything else it does is done the same way here. ``tests/test_principal.py`` and
        ``tests/test_principal_open_twin.py`` hold the result to ``from_claims`` and the verdicts to
        ``explain_claim_types``.
        """
        get = claims.get
        sub = get("sub")
        groups: Any = get("cognito:groups", _NO_GROUPS)
        scope = get("scope", "")
        username = get("username")
        if (
            type(sub) is str
            and sub
            # Exactly str (bool-like or str subclasses are not), in one C-level pass; an empty list passes.
            and type(groups) is list
            and set(map(type, groups)) <= _STR_ONLY
            and type(scope) is str
            and (type(username) is str or (username is None and "username" not in claims))
            and type(get("cognito:username", "")) is str
            and type(get("jti", "")) is str
            and type(get("origin_jti", "")) is str
            and type(get("event_id", "")) is str
            and type(get("email", "")) is str
            # JSON booleans, which normalization leaves as they are; "true"/"false" strings (some
            # issuers) take the detailed path, which allows them, and are normalized below.
            and type(get("email_verified", True)) is bool
            and type(get("phone_number_verified", True)) is bool
            and type(get("version", 0)) is int
        ):
            groups = tuple(groups)
        else:
            explain_claim_types(claims)  # raises unless the claims are acceptable after all
            for name in _BOOLEAN_CLAIMS:
                if name in claims:
                    claims[name] = normalize_bool(claims[name])
            groups = tuple(get("cognito:groups", ()))
            scope = get("scope", "")
        if "" in groups or (len(groups) > 1 and len(set(groups)) != len(groups)):
            groups = tuple(dict.fromkeys(group for group in groups if group))
        token_use = get("token_use")
        client_id = get("aud") if token_use == "id" else get("client_id")
        if username is None:
            username = get("cognito:username")
        if "[" not in scope:
            # normalize_string_list's usual case, written out (a call with a keyword on every fresh verify).
            words = scope.split()
            scopes = (
                tuple(words)
                if len(words) < 2 or len(set(words)) == len(words)
                else tuple(dict.fromkeys(words))
            )
        else:
            scopes = normalize_string_list(scope, separators="")
        # Filled as its open twin (plain slot stores, which the interpreter specialises: ≈ 20 instructions
        # each, against ≈ 650 for a slot descriptor's __set__ call), then made a Principal by __class__
        # assignment, which CPython allows between classes of the same layout (_OpenPrincipal, below).
        principal: Any = _new_object(_OpenPrincipal)
        principal.sub = sub
        principal.username = username if isinstance(username, str) else None
        principal.groups = groups
        principal.scopes = scopes
        principal.token_use = token_use
        principal.client_id = client_id if isinstance(client_id, str) else None
        principal.issuer = get("iss")
        principal.claims = MappingProxyType(claims)
        principal._derived = None
        principal.__class__ = Principal
        built: Principal = principal
        return built

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        # A copy or an unpickled principal starts with no derived answers (they are not part of its state).
        super().__setstate__(state)
        _set_derived(self, None)

    @property
    def is_machine(self) -> bool:
        """True for a client-credentials (M2M) access token: ``sub`` is the app client, no user."""
        return self.token_use == "access" and self.username is None and self.sub == self.client_id

    def has_groups(self, groups: Iterable[str], *, all_of: bool = False) -> bool:
        """Any-of (default) or all-of membership test."""
        wanted = set(groups)
        have = set(self.groups)
        return wanted <= have if all_of else bool(wanted & have)

    def has_scopes(self, scopes: Iterable[str], *, all_of: bool = False) -> bool:
        """Any-of (default) or all-of scope test."""
        wanted = set(scopes)
        have = set(self.scopes)
        return wanted <= have if all_of else bool(wanted & have)


class _OpenPrincipal(Frozen):
    """A :class:`Principal`'s layout twin whose slots take plain assignments: how the verifier fills one.

    The same base and the same ``__slots__`` as :class:`Principal`, so CPython lets an instance become a
    ``Principal`` by ``__class__`` assignment (the layouts are checked equal at that moment); with the
    generic ``__setattr__`` its stores are the interpreter's specialised slot stores, where
    ``Principal``'s frozen ``__setattr__`` leaves only a slot descriptor's ``__set__`` call (≈ 650
    instructions each, measured with callgrind: nine of them cost ≈ 5.9k per fresh verify, the twin and
    its ``__class__`` assignment ≈ 1.1k). No instance of it outlives :meth:`Principal._of_verified`.
    """

    __slots__ = Principal.__slots__
    # Both, so that the type's setattr slot is object's own (the two names share it): with either one
    # still Frozen's, every store would dispatch through Python.
    __setattr__ = object.__setattr__  # type: ignore[assignment]  # open, unlike every other Frozen
    __delattr__ = object.__delattr__  # type: ignore[assignment]


_new_object = object.__new__
# The member descriptors of the slotted class; their __set__ bypasses the frozen __setattr__.
_set_sub = Principal.__dict__["sub"].__set__
_set_username = Principal.__dict__["username"].__set__
_set_groups = Principal.__dict__["groups"].__set__
_set_scopes = Principal.__dict__["scopes"].__set__
_set_token_use = Principal.__dict__["token_use"].__set__
_set_client_id = Principal.__dict__["client_id"].__set__
_set_issuer = Principal.__dict__["issuer"].__set__
_set_claims = Principal.__dict__["claims"].__set__
_set_derived = Principal.__dict__["_derived"].__set__
# What a copy or a pickle carries: the fields, never the derived answers.
Principal._state = Principal._fields

#: At most this many derived answers per principal (one token asking many requests); then they start over.
DERIVED_ANSWERS_MAX = 16


def derived_answers(principal: Principal) -> dict[Any, Any] | None:
    """The principal's own cache of answers derived from it by higher layers, created on first use.

    The IAM builder keeps a repeated token's answer here (keyed by policy, request and limits): the
    verifier hands a repeated token the very principal it cached, so the answer is found again with one
    lookup, and it lives exactly as long as the principal does, with no process-wide table keeping
    principals alive. ``None`` for an object that is not a :class:`Principal` (nothing is kept). The
    caller keys entries by everything the answer depends on besides the principal, and keeps them small:
    the dict is emptied when it reaches :data:`DERIVED_ANSWERS_MAX` entries.
    """
    try:
        derived = principal._derived
    except AttributeError:  # not a Principal (or one built without its constructors): nothing is kept
        return None
    if derived is None:
        derived = {}
        _set_derived(principal, derived)
    elif len(derived) >= DERIVED_ANSWERS_MAX:
        derived.clear()
    return derived
