"""``rules_context`` (every authorizer invocation builds one) writes what its plain steps write.

It writes an empty list of groups, scopes or rules as ``"[]"`` without calling ``context_list`` when the
list is the empty tuple, and reads the principal's fields once. Hypothesis holds it to the steps it
replaced, kept here verbatim, over principals with and without groups, scopes, username, token use and
client, lists of every kind (tuples, lists, empty or not), rules or none, and extra claims.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.adapters.common import _context_value, context_list, rules_context
from cognito_authz.principal import Principal

NAMES = st.sampled_from(["admin", "reports,admin", "orders/read", "é", ""])
LISTS = st.one_of(
    st.just(()),
    st.lists(NAMES, max_size=3).map(tuple),
    st.lists(NAMES, max_size=3),  # not a tuple: always context_list's way
)
OPTIONAL = st.one_of(st.none(), st.just(""), st.sampled_from(["u1", "access", "client-9"]))


def _plain_steps(
    principal: Principal, rules: Any, claims: tuple[str, ...]
) -> dict[str, str | int | float | bool]:
    # rules_context before its empty-list shortcut, verbatim.
    context: dict[str, str | int | float | bool] = {
        "sub": principal.sub,
        "groups": context_list(principal.groups),
        "scopes": context_list(principal.scopes),
    }
    if principal.username:
        context["username"] = principal.username
    if principal.token_use:
        context["token_use"] = principal.token_use
    if principal.client_id:
        context["client_id"] = principal.client_id
    if rules is not None:
        context["rules"] = context_list(rules)
    for claim in claims:
        if claim in principal.claims and claim not in context:
            flat = _context_value(principal.claims[claim])
            if flat is not None:
                context[claim] = flat
    return context


@settings(max_examples=600, deadline=None)
@given(
    groups=LISTS,
    scopes=LISTS,
    username=OPTIONAL,
    token_use=OPTIONAL,
    client_id=OPTIONAL,
    rules=st.one_of(st.none(), LISTS),
    claims=st.lists(st.sampled_from(["custom:tenant", "sub", "groups", "custom:list", "absent"]), max_size=3),
)
def test_rules_context_writes_what_its_plain_steps_write(
    groups: Any, scopes: Any, username: Any, token_use: Any, client_id: Any, rules: Any, claims: list[str]
) -> None:
    principal = Principal(
        "sub-1",
        username,
        groups,
        scopes,
        token_use,
        client_id,
        None,
        {"custom:tenant": "acme", "sub": "sub-1", "custom:list": ["a", "b"]},
    )
    got = rules_context(principal, rules, tuple(claims))
    want = _plain_steps(principal, rules, tuple(claims))
    assert got == want
    assert list(got) == list(want)  # the same keys in the same order (the JSON API Gateway sees)
