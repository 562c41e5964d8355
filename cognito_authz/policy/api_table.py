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

from collections.abc import Iterable, Mapping

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.errors import PolicyError
from cognito_authz.policy.routes import GREEDY, LITERAL, Route
from cognito_authz.routing import request_method, request_segments

__all__ = ["ApiTable"]


class _Node:
    """A segment trie over route patterns: literal children, one parameter child, and the routes that end
    here or whose greedy parameter starts here (with their priority rank). Lookup costs grow with the
    path's depth and the overlap of route shapes, not with the number of routes."""

    __slots__ = ("ending", "greedy", "literals", "param")

    def __init__(self) -> None:
        self.literals: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.ending: list[tuple[int, Route]] = []
        self.greedy: list[tuple[int, Route]] = []

    def insert(self, route: Route, rank: int) -> None:
        node = self
        for kind, text in route.pattern:
            if kind == GREEDY:
                node.greedy.append((rank, route))
                return
            if kind == LITERAL:
                node = node.literals.setdefault(text, _Node())
            else:
                if node.param is None:
                    node.param = _Node()
                node = node.param
        node.ending.append((rank, route))

    def matches(self, segments: tuple[str, ...]) -> list[tuple[int, Route]]:
        """Every (rank, route) whose pattern matches ``segments``, whatever the method."""
        found: list[tuple[int, Route]] = []
        pending: list[tuple[_Node, int]] = [(self, 0)]
        count = len(segments)
        while pending:
            node, index = pending.pop()
            if index == count:
                found.extend(node.ending)
                continue
            found.extend(node.greedy)  # a greedy parameter takes the one or more segments left
            child = node.literals.get(segments[index])
            if child is not None:
                pending.append((child, index + 1))
            if node.param is not None:
                pending.append((node.param, index + 1))
        return found


class ApiTable(Frozen, hidden=("_index",)):
    """The routes of one API (REST or HTTP), in route syntax; immutable.

    ``routes`` keeps the given order with duplicates removed; ``source`` names where the table came from
    (a policy file, a SAM template...) for messages.
    """

    __slots__ = ("_index", "routes", "source")
    routes: tuple[Route, ...]
    source: str
    #: the HTTP routes in a segment trie, each with its rank in the gateway's priority order
    _index: _Node

    def __init__(self, routes: tuple[Route, ...], source: str = "<api>") -> None:
        unique = tuple(dict.fromkeys(routes))
        set_field(self, "routes", unique)
        set_field(self, "source", source)
        ordered = sorted((route for route in unique if route.method is not None), key=Route.specificity)
        root = _Node()
        for rank, route in enumerate(ordered):
            root.insert(route, rank)
        set_field(self, "_index", root)

    @classmethod
    def parse(cls, routes: Iterable[str], source: str = "<api>") -> ApiTable:
        """Parse route strings (``"GET /orders/{orderId}"``, ``"ANY /{proxy+}"``, ``"$connect"``).

        Raises :class:`PolicyError` naming ``source`` and the entry for a malformed route.
        """
        if isinstance(routes, str | Mapping) or not isinstance(routes, Iterable):
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

        Every route whose pattern matches is a candidate, even where a literal sibling matched a
        segment first (``/a/b/c`` and ``/{x}/b/d`` both exist, the request is ``/a/b/d``): AWS's pages
        do not say whether the gateway backtracks, and counting a request routable when it might not
        be can only make what is built on the table more careful, never more permissive.
        """
        if isinstance(path, str) and path.startswith("$"):
            return next((route for route in self.routes if route.method is None and route.path == path), None)
        verb = request_method(method)
        segments = request_segments(path)
        if verb is None or segments is None:
            return None
        best: tuple[int, Route] | None = None
        for rank, route in self._index.matches(segments):
            if (route.method == "ANY" or route.method == verb) and (best is None or rank < best[0]):
                best = (rank, route)
        return best[1] if best is not None else None

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
