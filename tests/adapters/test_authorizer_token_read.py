"""The Lambda authorizer's token of the usual REQUEST event (one plain header map) is the one its
general steps find.

``LambdaAuthorizer._token`` reads the configured header of a plain ``headers`` dict directly when the
lower-case name is there with a string value and no other key is as long. The same event with its
headers wrapped in a read-only mapping takes the general steps (``find_header`` over every spelling,
then the comparison of sources); hypothesis holds the two to the same token, or to the same refusal,
over header maps with other spellings of the name, keys of the same length, keys that are not strings,
values that are not strings, and query parameters that are a second source.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.adapters.lambda_authorizer import EventKind, LambdaAuthorizer
from cognito_authz.policy import Policy


class NoVerifier:
    def verify(self, token: Any) -> Any:
        raise AssertionError("not called")


POLICY = Policy.from_dict({"version": 1, "rules": [{"id": "all", "routes": ["ANY /{proxy+}"]}]})

NAMES = st.sampled_from(
    ["authorization", "Authorization", "AUTHORIZATION", "x-authorizatio", "authorizatioN", "x-token", "host"]
)
KEYS = st.one_of(
    NAMES, st.text(max_size=14), st.integers(0, 3), st.just(b"authorization"), st.just(("a",) * 13)
)
VALUES = st.one_of(
    st.sampled_from(["Bearer abc", "Bearer xyz", "abc", "Basic dXNlcg==", "Bearer ", ""]),
    st.lists(st.sampled_from(["Bearer abc", "Bearer xyz"]), max_size=2),
    st.none(),
    st.integers(),
)
QUERIES = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["token", "expand", "x"]), st.sampled_from(["abc", "xyz", "1"]), max_size=2
    ),
)


@settings(max_examples=1500, deadline=None)
@given(
    headers=st.one_of(
        st.dictionaries(NAMES, VALUES, max_size=4),  # spellings of the name collide often
        st.dictionaries(KEYS, VALUES, max_size=5),
    ),
    query=QUERIES,
    token_header=st.sampled_from(["authorization", "Authorization", "x-token", "X-Authorizatio"]),
    token_query=st.sampled_from(["token", None]),
)
def test_the_direct_header_read_finds_the_general_steps_token(
    headers: dict[Any, Any], query: dict[str, str] | None, token_header: str, token_query: str | None
) -> None:
    authorizer = LambdaAuthorizer(NoVerifier(), POLICY, token_header=token_header, token_query=token_query)
    event: dict[str, Any] = {"version": "2.0", "type": "REQUEST", "headers": headers}
    if query is not None:
        event["queryStringParameters"] = query
    general = {**event, "headers": MappingProxyType(headers)}  # not a dict: the general steps
    for kind in (EventKind.HTTP_V2, EventKind.HTTP_V1, EventKind.REST_REQUEST):
        assert authorizer._token(kind, event) == authorizer._token(kind, general), (kind, headers, query)
