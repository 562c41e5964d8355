"""The API's route table: the routes API Gateway actually has, so the library reasons about the requests
that can reach an authorizer instead of an open world of paths (``docs/architecture.md``, "The route
table").

Only a request matching a route of the API reaches an authorizer or a cached authorizer answer; for
anything else API Gateway answers 403/404 itself. A policy file may carry the table as a top-level
``api:`` list in route syntax. Without a table, or with an empty one, every request the routing model
accepts counts as routable, as if the API were ``ANY /{proxy+}``.

Rule routes are patterns over requests, not routes of the API: a mismatch between rules and table is a
lint finding (:mod:`cognito_authz.policy.lint`), never a load error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cognito_authz.errors import PolicyError
from cognito_authz.policy.routes import Route, match_pattern
from cognito_authz.routing import request_method, request_segments

__all__ = ["ApiTable"]


@dataclass(frozen=True, slots=True)
class ApiTable:
    """The routes of one API (REST or HTTP), in route syntax; immutable.

    ``routes`` keeps the given order with duplicates removed; ``source`` names where the table came from
    (a policy file, a SAM template...) for messages.
    """

    routes: tuple[Route, ...]
    source: str = "<api>"
    #: routes ordered most specific first (the gateway's priority), for route_for
    _by_priority: tuple[Route, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        unique = tuple(dict.fromkeys(self.routes))
        object.__setattr__(self, "routes", unique)
        ordered = sorted(
            (route for route in unique if route.method is not None), key=lambda route: route.specificity()
        )
        object.__setattr__(self, "_by_priority", tuple(ordered))

    @classmethod
    def parse(cls, routes: Iterable[str], source: str = "<api>") -> ApiTable:
        """Parse route strings (``"GET /orders/{orderId}"``, ``"ANY /{proxy+}"``, ``"$connect"``).

        Raises :class:`PolicyError` naming ``source`` and the entry for a malformed route.
        """
        if isinstance(routes, str) or not isinstance(routes, Iterable):
            raise PolicyError(
                "an API route table must be a list of routes such as 'GET /orders/{orderId}'",
                reason="policy_schema",
                source=source,
                field="api",
            )
        parsed: list[Route] = []
        for index, text in enumerate(routes):
            try:
                parsed.append(Route.parse(text))
            except PolicyError as exc:
                raise PolicyError(
                    exc.message, reason=exc.reason, source=source, field=f"api[{index}]"
                ) from None
        return cls(tuple(parsed), source=source)

    @property
    def texts(self) -> tuple[str, ...]:
        """The routes as route strings, in table order."""
        return tuple(route.text for route in self.routes)

    def route_for(self, method: str, path: str) -> Route | None:
        """The route API Gateway selects for this request, or ``None`` if it reaches no route.

        Priority (routing fact 2): per segment from the left, a literal over a parameter over a greedy
        variable; then a route naming the verb over ``ANY``. A WebSocket route key matches itself.
        An empty table selects nothing: ask :meth:`routable` whether a request gets through.
        """
        if isinstance(path, str) and path.startswith("$"):
            return next((route for route in self.routes if route.method is None and route.path == path), None)
        verb = request_method(method)
        segments = request_segments(path)
        if verb is None or segments is None:
            return None
        for route in self._by_priority:
            if route.method != "ANY" and route.method != verb:
                continue
            if match_pattern(route.pattern, segments) is not None:
                return route
        return None

    def routable(self, method: str, path: str) -> bool:
        """Whether the request can reach an authorizer: it passes the routing model and, when the table
        has routes, matches one of them."""
        if not self.routes:
            if isinstance(path, str) and path.startswith("$"):
                return True
            return request_method(method) is not None and request_segments(path) is not None
        return self.route_for(method, path) is not None

    def __len__(self) -> int:
        return len(self.routes)
