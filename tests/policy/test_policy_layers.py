"""The policy package's imports run one way: no cycles (``_schema`` and ``model``, ``engine`` and ``lint``
once imported each other), and the routing model imports nothing from ``policy``. Every import counts,
function-level and ``TYPE_CHECKING`` ones included, read from the source with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

import cognito_authz

PACKAGE = Path(cognito_authz.__file__).parent


def imports_of(path: Path) -> set[str]:
    """Every ``cognito_authz`` module the file imports, wherever the import statement sits."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cognito_authz"):
            found.add(node.module)
            # ``from cognito_authz.policy import _schema`` imports a module, not a name
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists():
                    found.add(candidate)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("cognito_authz"))
    return found


def policy_graph() -> dict[str, set[str]]:
    modules = {
        f"cognito_authz.policy.{path.stem}": path
        for path in (PACKAGE / "policy").glob("*.py")
        if path.stem != "__init__"
    }
    return {name: imports_of(path) & modules.keys() for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_policy_modules_import_each_other_without_cycles() -> None:
    graph = policy_graph()
    assert "cognito_authz.policy.engine" in graph
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_detector_bites() -> None:
    graph = policy_graph()
    graph["cognito_authz.policy.model"].add("cognito_authz.policy.parse")  # what model once did
    assert find_cycle(graph) is not None


def test_routing_sits_below_policy() -> None:
    imported = imports_of(PACKAGE / "routing.py")
    assert not any(name.startswith("cognito_authz.policy") for name in imported), imported


def test_policy_imports_only_the_layers_below_it() -> None:
    allowed = (
        "cognito_authz.policy",
        "cognito_authz.errors",
        "cognito_authz.principal",
        "cognito_authz.routing",
        "cognito_authz.claimsets",  # pure data (what Cognito puts in its tokens), imports nothing of ours
        "cognito_authz._frozen",  # the value-class base every layer shares, imports nothing of ours
    )
    for path in (PACKAGE / "policy").glob("*.py"):
        outside = {name for name in imports_of(path) if not name.startswith(allowed)}
        assert not outside, (path.name, outside)
