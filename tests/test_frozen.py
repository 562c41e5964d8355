"""The start-up path's value classes (cognito_authz._frozen) behave as the frozen dataclasses they
replaced: checked against real dataclasses with the same fields, built here as the oracle."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cognito_authz import Decision, Principal
from cognito_authz._frozen import Frozen, set_field
from cognito_authz.iam.arn import MethodArn
from cognito_authz.jwks import Jwk
from cognito_authz.policy.model import Condition, PolicyDocument, Rule
from cognito_authz.policy.routes import Route


@dataclasses.dataclass(frozen=True, slots=True)
class PrincipalOracle:
    sub: str
    username: str | None = None
    groups: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    token_use: str | None = None
    client_id: str | None = None
    issuer: str | None = None
    claims: Any = dataclasses.field(default_factory=lambda: MappingProxyType({}))


@dataclasses.dataclass(frozen=True, slots=True)
class RouteOracle:
    method: str | None
    path: str
    text: str
    params: tuple[str, ...]
    greedy: bool
    pattern: Any = dataclasses.field(default=(), repr=False, compare=False)


_text = st.text(max_size=6)
_maybe = st.none() | _text
_names = st.lists(_text, max_size=3).map(tuple)
_principal_fields = st.tuples(_text, _maybe, _names, _names, _maybe, _maybe, _maybe)


def _principals(values: Any) -> tuple[Principal, PrincipalOracle]:
    claims = MappingProxyType({"sub": values[0]})
    return Principal(*values, claims), PrincipalOracle(*values, claims)


@given(_principal_fields, _principal_fields)
def test_principal_equality_and_repr_match_a_frozen_dataclass(left: Any, right: Any) -> None:
    mine, oracle = _principals(left)
    other, other_oracle = _principals(right)
    assert (mine == other) == (oracle == other_oracle)
    assert (mine != other) == (oracle != other_oracle)
    assert repr(mine) == repr(oracle).replace("PrincipalOracle", "Principal")
    assert mine == _principals(left)[0]


_route_fields = st.tuples(_maybe, _text, _text, _names, st.booleans())


@given(_route_fields, _route_fields, st.lists(st.integers(), max_size=2).map(tuple))
def test_route_hash_equality_and_repr_leave_the_pattern_out_as_the_dataclass_did(
    left: Any, right: Any, pattern: tuple[int, ...]
) -> None:
    mine, other = Route(*left, pattern=pattern), Route(*right)
    oracle, other_oracle = RouteOracle(*left, pattern=pattern), RouteOracle(*right)
    assert (mine == other) == (oracle == other_oracle)
    assert repr(mine) == repr(oracle).replace("RouteOracle", "Route")
    assert mine == Route(*left)  # the pattern is not compared
    assert hash(mine) == hash(Route(*left))
    assert len({mine, Route(*left)}) == 1


def test_equal_only_to_the_same_class() -> None:
    route = Route.parse("GET /a")
    assert route != RouteOracle(route.method, route.path, route.text, route.params, route.greedy)
    assert route.__eq__("GET /a") is NotImplemented


def _instances() -> list[Frozen]:
    route = Route.parse("GET /orders/{orderId}")
    condition = Condition(groups=("admin",))
    rule = Rule(id="r", routes=(route,), when=condition)
    return [
        Principal("u", groups=("admin",)),
        Decision(True, "allowed", ("r",), MappingProxyType({}), "GET /orders/{orderId}", "GET", "/orders/1"),
        route,
        condition,
        rule,
        PolicyDocument(version=1, rules=(rule,)),
        Jwk("k", "RSA", "RS256", "sig", None, "no key"),
        MethodArn.parse("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders/1"),
    ]


@pytest.mark.parametrize("instance", _instances(), ids=lambda item: type(item).__name__)
def test_public_value_classes_refuse_assignment_as_frozen_dataclasses(instance: Frozen) -> None:
    name = instance._fields[0]
    before = getattr(instance, name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(instance, name, "changed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(instance, name)
    with pytest.raises(AttributeError):
        instance.not_a_field = 1
    assert getattr(instance, name) is before


@pytest.mark.parametrize("instance", _instances(), ids=lambda item: type(item).__name__)
def test_copies_are_equal_and_keep_hidden_fields(instance: Frozen) -> None:
    duplicate = copy.copy(instance)
    assert duplicate == instance
    assert duplicate is not instance
    for name in instance._state:
        assert getattr(duplicate, name) is getattr(instance, name)
    assert repr(duplicate) == repr(instance)
    assert type(instance).__name__ + "(" in repr(instance)


def test_pickle_round_trip_keeps_hidden_fields() -> None:
    route = Route.parse("GET /orders/{orderId}")
    again = pickle.loads(pickle.dumps(route))
    assert again == route
    assert again.pattern == route.pattern != ()


def test_the_decision_keeps_its_outcome_out_of_equality() -> None:
    first = Decision(False, "no_matching_rule", (), MappingProxyType({}), None, "GET", "/x", None)
    second = Decision(False, "no_matching_rule", (), MappingProxyType({}), None, "GET", "/x", ([], [], []))
    assert first == second
    assert "_outcome" not in repr(second)


class _Pair(Frozen, hidden=("note",)):
    __slots__ = ("left", "note", "right")  # sorted: the annotations give the order
    left: int
    right: int
    note: str

    def __init__(self, left: int, right: int, note: str = "") -> None:
        set_field(self, "left", left)
        set_field(self, "right", right)
        set_field(self, "note", note)


def test_fields_follow_the_annotations_and_hidden_fields_are_left_out() -> None:
    assert _Pair._fields == ("left", "right")
    assert repr(_Pair(1, 2, "x")) == "_Pair(left=1, right=2)"
    assert _Pair(1, 2, "x") == _Pair(1, 2, "y") != _Pair(2, 1)


class _OtherPair(_Pair):
    __slots__ = ()


def test_a_subclass_with_the_same_values_is_not_equal() -> None:
    # as a dataclass compares: `other.__class__ is self.__class__`, not isinstance
    assert _Pair(1, 2) != _OtherPair(1, 2)
    assert _OtherPair(1, 2) == _OtherPair(1, 2)
    assert repr(_OtherPair(1, 2)) == "_OtherPair(left=1, right=2)"
