"""What ``dataclasses`` and ``logging`` cost the cold start, counted in instructions (needs valgrind).

    python -m bench.startup_costs

Two counterfactuals, each a whole process under callgrind with cached bytecode (as ``--callgrind``):

- *imports*: a script importing every module outside ``cognito_authz`` that the JSON-policy cold start
  imports, then the same script without ``dataclasses`` (and what only it pulls in: ``inspect``, ``ast``,
  ``dis``, ``tokenize``, ``copy``...), without ``logging`` (``traceback``, ``string``, ``textwrap``) and
  without both. Modules something else still needs come back by themselves, so each difference is what
  leaving that module off the start-up path would save.
- *classes*: the cold start itself, once plainly and once with ``dataclasses._process_class`` run a
  second time on a copy of every class it processes. The difference is what creating the start-up
  path's dataclasses costs (and what plain classes with ``__slots__`` would mostly save).

It found 32 dataclasses costing ≈ 124 M instructions and ``dataclasses`` plus ``logging`` ≈ 60 M; the
start-up path now defines its classes on ``cognito_authz._frozen.Frozen`` and imports ``logging`` only
when something is logged, so on the current code *classes* reads 0 and the *imports* rows differ only
by ``logging``, which the bench policy's start-up warning (not cache-safe) still loads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.callgrind import _ROOT, _collected, _environment, available
from bench.coldstart import DATA, LAMBDA

_DATACLASSES = {"dataclasses", "inspect", "ast", "dis", "token", "tokenize", "linecache", "opcode", "copy"}
_LOGGING = {"logging", "traceback", "textwrap", "string", "atexit"}

_LIST_MODULES = f"""import runpy, sys, json
sys.argv = [{LAMBDA!r}, {str(DATA / "policy.json")!r}]
before = set(sys.modules)
runpy.run_path({LAMBDA!r}, run_name="__main__")
print(json.dumps([m for m in sys.modules if m not in before]))
"""

_DOUBLED = f"""import dataclasses, os, runpy, sys
process = dataclasses._process_class
def twice(cls, *args, **kwargs):
    body = {{name: value for name, value in cls.__dict__.items() if name not in ("__dict__", "__weakref__")}}
    process(type(cls)(cls.__name__, cls.__bases__, body), *args, **kwargs)
    return process(cls, *args, **kwargs)
if os.environ.get("TWICE") == "1":
    dataclasses._process_class = twice
sys.argv = [{LAMBDA!r}, {str(DATA / "policy.json")!r}]
runpy.run_path({LAMBDA!r}, run_name="__main__")
"""


def _count(script: Path, env: dict[str, str]) -> int:
    subprocess.run([sys.executable, str(script)], env=env, capture_output=True, check=True, cwd=_ROOT)  # .pyc
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=_ROOT,
    )
    return _collected(result.stderr)


def run() -> dict[str, int]:
    """Instruction counts of every counterfactual, by name."""
    if not available():
        raise RuntimeError("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        env = _environment(str(work / "pycache"))
        lister = work / "list_modules.py"
        lister.write_text(_LIST_MODULES)
        listed = subprocess.run(
            [sys.executable, str(lister)], env=env, capture_output=True, text=True, check=True, cwd=_ROOT
        )
        loaded = json.loads(listed.stdout.strip().splitlines()[-1])
        # Public top-level names only: private and C modules come in with their importers.
        modules = [m for m in loaded if not m.startswith(("cognito_authz", "_", "runpy", "pkgutil"))]
        modules = [m for m in modules if "." not in m or m.split(".")[0] not in {"typing", "_openssl"}]
        variants = {
            "imports: all": modules,
            "imports: without dataclasses": [m for m in modules if m not in _DATACLASSES],
            "imports: without logging": [m for m in modules if m not in _LOGGING],
            "imports: without both": [m for m in modules if m not in _DATACLASSES | _LOGGING],
        }
        counts: dict[str, int] = {}
        for name, names in variants.items():
            script = work / f"imports_{len(counts)}.py"
            script.write_text("".join(f"import {m}\n" for m in names))
            counts[name] = _count(script, env)
        doubled = work / "doubled.py"
        doubled.write_text(_DOUBLED)
        counts["cold start (JSON policy)"] = _count(doubled, env)
        counts["cold start, every dataclass created twice"] = _count(doubled, {**env, "TWICE": "1"})
    return counts


def main() -> None:
    counts = run()
    for name, count in counts.items():
        print(f"{name:<45} {count:>15,}")
    everything = counts["imports: all"]
    print()
    for name in ("imports: without dataclasses", "imports: without logging", "imports: without both"):
        print(f"saved {name.split(': ')[1]:<24} {everything - counts[name]:>15,}")
    created = counts["cold start, every dataclass created twice"] - counts["cold start (JSON policy)"]
    print(f"{'creating the dataclasses':<30} {created:>15,}")


if __name__ == "__main__":
    main()
