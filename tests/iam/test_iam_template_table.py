"""The table of settled answer templates stays bounded and keeps what new callers keep asking for.

A lookup marks its entry used instead of moving it to the end (which hashes the key again); when the
table is full, the eviction loop gives each used entry one second chance (to the end, unmarked) and
drops the oldest unused one. Checked against a model of that rule (hypothesis, random lookups and
inserts on a small table), and end to end: callers of a shape asked for again and again keep their
template while other shapes come and go.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.iam import MethodArn, build_principal_policy, builder, clear_memo
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal

SIZE = 4


class Model:
    """The second-chance rule, written plainly."""

    def __init__(self) -> None:
        self.entries: OrderedDict[int, bool] = OrderedDict()  # key -> used

    def look(self, key: int) -> bool:
        if key in self.entries:
            self.entries[key] = True
            return True
        return False

    def keep(self, key: int) -> None:
        self.entries[key] = False
        chances = len(self.entries)
        while len(self.entries) > SIZE:
            oldest, used = self.entries.popitem(last=False)
            if used and chances > 0:
                self.entries[oldest] = False
            chances -= 1


@pytest.fixture
def small_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder, "_TEMPLATES_SIZE", SIZE)
    clear_memo()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 9)), max_size=60))
def test_the_table_follows_the_second_chance_rule(operations: list[tuple[bool, int]]) -> None:
    policy: Any = object()
    saved = builder._TEMPLATES_SIZE
    builder._TEMPLATES_SIZE = SIZE
    try:
        clear_memo()
        model = Model()
        for insert, key in operations:
            template_key = (("shape",), f"arn-{key}", True)
            # A lookup first (as _renamed_answer does); an insert only of what it did not find.
            found = builder._template(policy, template_key)
            assert (found is not None) == model.look(key)
            if insert and found is None:
                model.keep(key)
                builder._keep_template(template_key, (policy, None, ("r", ""), False, [False]))  # type: ignore[arg-type]
            assert len(builder._TEMPLATES) <= SIZE
            assert [k[1] for k in builder._TEMPLATES] == [f"arn-{k}" for k in model.entries]
            assert [e[4][0] for e in builder._TEMPLATES.values()] == list(model.entries.values())
    finally:
        builder._TEMPLATES_SIZE = saved
        clear_memo()


POLICY = Policy.from_dict(
    {
        "version": 1,
        "rules": [
            {"id": "own", "routes": ["GET /users/{id}"], "when": {"claims": {"sub": "{id}"}}},
            {"id": "read", "routes": ["GET /orders/{n}"], "when": {"scopes": ["r"]}},
        ],
    }
)
PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/"


def test_a_shape_asked_again_and_again_keeps_its_template(small_table: None) -> None:
    arn = MethodArn.parse(PREFIX + "GET/orders/1")
    usual_key = None
    for round_ in range(8):
        # The usual caller (scope r) every round, then a caller of a shape nobody asks twice (two
        # entries: its image and any-ARN templates), on a table of four.
        usual = Principal.from_claims({"sub": f"u-{round_}", "scope": "r", "token_use": "access"})
        assert build_principal_policy(POLICY, usual, arn).scope == "principal"
        if usual_key is None:
            (usual_key,) = (key for key in builder._TEMPLATES if key[0][4] == ("r",) and key[1] is not None)
        else:
            assert usual_key in builder._TEMPLATES, round_  # found, not settled again
        claims = {"sub": f"o-{round_}", "scope": f"s{round_}", "token_use": "access"}
        build_principal_policy(POLICY, Principal.from_claims(claims), arn)
        assert len(builder._TEMPLATES) <= SIZE
        # Asked in this round: still there after another shape came in (plain FIFO would drop it).
        assert usual_key in builder._TEMPLATES or round_ == 0, round_
