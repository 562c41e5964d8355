"""Cold-start rows: fresh Python processes, the way a Lambda init phase starts.

Budgets (docs/performance.md): importing cognito_authz, loading a policy file, installing keys from a
bundled JWKS file and building a ``LambdaAuthorizer`` (``bench/data/lambda_function.py``) costs <= 0.5x
``python -c "import jwt"`` from a JSON policy and <= 0.7x from YAML (PyYAML's import is most of the
difference). Peers' imports are shown beside it, without budget. Each round runs every command once, in
rotating order, and the ratio is taken within the round; the table shows medians over rounds. A process
is measured by the CPU time it used (user + system), not by wall-clock time: on a machine with more
runnable processes than cores, the wall clock mostly measures the wait for a core.

Bytecode: a deployed package ships compiled ``.pyc`` files (pip compiles at install; Lambda's file system
is read-only, so a package without them recompiles every module on every cold start). PyJWT in
site-packages has them; a source checkout of this library may not, and ``PYTHONDONTWRITEBYTECODE`` may
forbid writing them. So every command runs with bytecode writing on and a private cache
(``PYTHONPYCACHEPREFIX``, a temporary directory), and a first untimed run of each fills it: both sides
start from compiled bytecode, as in production, and the checkout stays clean.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._rows import Row, Setup

__all__ = ["BUDGETS", "COMMANDS", "REFERENCE", "run"]

JSON_BUDGET = 0.5
YAML_BUDGET = 0.7
DATA = Path(__file__).resolve().parent / "data"
LAMBDA = str(DATA / "lambda_function.py")
REFERENCE = 'python -c "import jwt"'

COMMANDS: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    REFERENCE: ["-c", "import jwt"],
    "import cognito_authz": ["-c", "import cognito_authz"],
    "authorizer from policy.yaml + bundled JWKS": [LAMBDA, str(DATA / "policy.yaml")],
    "authorizer from policy.json + bundled JWKS": [LAMBDA, str(DATA / "policy.json")],
}
BUDGETS = {
    "authorizer from policy.yaml + bundled JWKS": YAML_BUDGET,
    "authorizer from policy.json + bundled JWKS": JSON_BUDGET,
}
#: Peers' imports (each skipped when not installed): what a verifier built on them starts from.
PEERS: dict[str, tuple[str, list[str]]] = {
    "python-jose: from jose import jwt": ("jose", ["-c", "from jose import jwt"]),
    "joserfc: from joserfc import jwt": ("joserfc", ["-c", "from joserfc import jwt"]),
    "authlib: from authlib.jose import JsonWebToken": (
        "authlib",
        ["-W", "ignore", "-c", "from authlib.jose import JsonWebToken"],
    ),
}


def _environment(cache: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _once(args: list[str], env: dict[str, str]) -> float:
    """CPU seconds (user + system) the child process used: unlike wall-clock time, this does not count
    the time slices other processes took while it waited for a core."""
    start = _children_cpu()
    subprocess.run([sys.executable, *args], check=True, capture_output=True, env=env)
    return _children_cpu() - start


def run(setup: Setup) -> list[Row]:
    """One row per command: median milliseconds and the median per-round ratio to ``import jwt``."""
    rounds = 3 if setup.quick else 11
    commands = dict(COMMANDS)
    if setup.peers:
        installed = {name: args for name, (module, args) in PEERS.items() if importlib.util.find_spec(module)}
        commands.update(installed)
    names = list(commands)
    times: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        env = _environment(cache)
        for args in commands.values():
            _once(args, env)  # bytecode cached, disk pages warm
        for index in range(rounds):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                times[name].append(_once(commands[name], env))
    reference = times[REFERENCE]
    rows = []
    for name in names:
        ratios = [mine / ref for mine, ref in zip(times[name], reference, strict=True)]
        rows.append(
            Row(
                "cold start" if name in COMMANDS else "cold start peers",
                f"cold start: {name}",
                statistics.median(times[name]) * 1e3,
                "ms",
                statistics.median(ratios),
                "import jwt",
                BUDGETS.get(name),
                note=f"median of {rounds} fresh processes",
            )
        )
    return rows
