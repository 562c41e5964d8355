"""A caller's memo key: everything ``decide`` reads from a principal, a renamed claim by its placeholder.

Equal-shaped callers share one proof through this key (docs/architecture.md, steps 5 and 7): its lists,
token use, client and each claim a condition names, after the policy, API and stage, and budget. Which
values may be renamed is :mod:`cognito_authz.iam.renaming`'s to say (``renaming_parts``, ``key_plan``);
this module only spells the key, the usual new caller's in one loop, anything else the general way.
``tests/iam/test_iam_new_caller_key.py`` holds the two ways to one reference key.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from cognito_authz.iam.arn import MethodArn
from cognito_authz.iam.renaming import FIRST_PLACEHOLDER, Renaming, key_plan, renaming_parts
from cognito_authz.iam.world import PolicyFacts, policy_facts
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

__all__ = ["LAST_FACTS", "LastFacts", "caller_key", "last_facts", "new_caller_key"]


# The facts of the policy asked last (an authorizer serves one policy), with their key plan
# (renaming.key_plan) and their literals as a map of each to itself (`path_class.fresh_segment`): found
# without policy_facts' lock and table. A tuple replaced in one store, so a reader sees either the old one
# or the new one.
LastFacts = tuple[Policy, PolicyFacts, tuple[tuple[str, bool], ...] | None, Mapping[str, str]]
LAST_FACTS: list[LastFacts | None] = [None]


def last_facts(policy: Policy) -> LastFacts:
    last = LAST_FACTS[0]
    if last is None or last[0] is not policy:
        facts = policy_facts(policy)
        literal_of = {literal: literal for literal in facts.literals}
        last = LAST_FACTS[0] = (policy, facts, key_plan(facts), literal_of)
    return last


def caller_key(
    policy: Policy, principal: Principal, arn: MethodArn, budget: int
) -> tuple[tuple[Any, ...], Renaming | None]:
    """The memo key of the caller's proof (value-free when renamed), and the renaming if any: the key of
    :func:`new_caller_key`, with the :class:`Renaming` its parts describe."""
    key, parts = new_caller_key(policy, principal, arn.prefix, budget)
    if parts is None:
        return key, None
    values, named = parts
    return key, Renaming(values, principal, tuple(named.items()))


# Renamed claims of a caller that has none (shared, never written).
_NONE_NAMED: Mapping[str, str] = MappingProxyType({})


def new_caller_key(
    policy: Policy, principal: Principal, prefix: str, budget: int
) -> tuple[tuple[Any, ...], tuple[dict[str, str], dict[str, str]] | None]:
    """The memo key of a caller's proof and the renaming's parts
    (:func:`~cognito_authz.iam.renaming.renaming_parts`), in one pass: a new caller whose answer is
    already settled for its shape needs no :class:`Renaming` (:func:`caller_key` builds one).

    The key is everything decide reads from a principal: its lists, token use, client, and each claim a
    condition names (a renamed claim by its placeholder only, so equal-shaped callers share one proof),
    after the policy, API and stage, and budget. ``tests/iam/test_iam_new_caller_key.py`` holds it to a
    reference built the general way (``plan_renaming``, then the key)."""
    last = LAST_FACTS[0]
    if last is None or last[0] is not policy:
        last = last_facts(policy)
    facts, plan = last[1], last[2]
    if plan is not None:
        # The usual new caller in one loop: every claim a condition names is absent but for at most one
        # renamable claim holding a value plain_value accepts without the routing model (no '~': it
        # cannot be a placeholder) that is no literal. renaming_parts then finds that one claim renamed
        # to the first placeholder (no other claim has texts to collide with it) and the key spells each
        # absent claim as repr(None). (The plain test is plain_value's, on bytes: see there.) Anything
        # else (a second value, a claim kept as it is, a value it must judge further) takes the general
        # steps below.
        got = principal.claims.get
        literals = facts.literals
        renamed: tuple[str, str] | None = None
        claims: list[tuple[str, str]] = []
        for name, renamable in plan:  # a plain loop: cheaper than a generator for 2 or 3 names
            value = got(name)
            if value is None:
                claims.append((name, "None"))
            elif (
                renamable
                and renamed is None
                and type(value) is str
                and len(value) <= 256
                and value.isascii()
                and value.encode().replace(b"-", b"").isalnum()
                and value not in literals
            ):
                renamed = (name, value)
                claims.append((name, FIRST_PLACEHOLDER))
            else:
                break
        else:
            key = _key_of(policy, prefix, budget, principal, claims)
            if renamed is None:
                return key, None
            return key, ({FIRST_PLACEHOLDER: renamed[1]}, {renamed[0]: FIRST_PLACEHOLDER})
    parts = renaming_parts(facts, principal)
    named = parts[1] if parts is not None else _NONE_NAMED
    get = principal.claims.get
    claims = []
    for name in facts.condition_claims:  # a plain loop: cheaper than a generator for 2 or 3 names
        claims.append((name, named.get(name) or repr(get(name))))
    return _key_of(policy, prefix, budget, principal, claims), parts


def _key_of(
    policy: Policy, prefix: str, budget: int, principal: Principal, claims: list[tuple[str, str]]
) -> tuple[Any, ...]:
    # The one place the memo key's fields are listed: both ways of working out ``claims`` end here, so
    # a field added for one cannot be missing from the other (two callers told apart by it would share
    # a proof).
    return (
        id(policy),
        prefix,
        budget,
        tuple(principal.groups),
        tuple(principal.scopes),
        principal.token_use,
        principal.client_id,
        tuple(claims),
    )
