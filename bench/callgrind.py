"""Instruction counts under ``valgrind --tool=callgrind``: figures that repeat exactly on a busy machine.

    python -m bench --callgrind            # every case below, with the floor's count beside it
    python -m bench --callgrind --quick    # fewer calls per case (the counts barely move)

Times drift by tens of percent when other processes share the cores; the number of instructions a call
executes does not. Each case runs in one child process under callgrind with collection switched on only
inside ``functools.reduce`` (``--toggle-collect=functools_reduce``), and a dump is written each time a
``reduce`` returns (``--dump-after``): the case is ``reduce(lambda acc, _: case(), range(calls))``, so
a dump holds exactly ``calls`` invocations of the case and nothing of the set-up. The count of an empty
case (the harness alone) is subtracted, and the ratio is taken to the floor's count from the same
process. Cold starts are whole fresh processes under callgrind, bytecode cached, ratio to
``python -c "import jwt"``.

The child needs no RSA key generation (slow under valgrind): the parent mints every token and writes
the key and tokens to a fixture file. ``functools_reduce`` must be a symbol of the interpreter (it is in
CPython builds that keep their symbol table, such as pyenv's and the python.org images); when it is
not, every count comes back zero and the run says so instead of printing ratios.

Instructions are not time: an RSA verify is arithmetic-dense, Python code is branchy, so one
instruction of the floor takes less time than one of ours on average. The ratios are a second
opinion that must tell the same story as the timed table, not a replacement for it.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CASES", "Count", "available", "run"]

MARKER = "functools_reduce"
_ROOT = Path(__file__).resolve().parents[1]

#: Case name -> what the count is compared with (``floor`` or ``import jwt``), in the order printed.
CASES: dict[str, str] = {
    "floor: cryptography RSA-SHA256 PKCS1v15 verify (2048-bit)": "floor",
    "verify, fresh token (distinct tokens, cache missing)": "floor",
    "verify, repeated token (cache hit)": "floor",
    "decide, 10 rules": "floor",
    "decide, 1,000 rules": "floor",
    "authorizer, REST TOKEN event (fresh tokens, distinct users)": "floor",
    "authorizer, HTTP API 2.0 event (fresh tokens, distinct users)": "floor",
    "authorizer, REST TOKEN event (repeated token)": "floor",
    "authorizer, HTTP API 2.0 event (repeated token)": "floor",
    "authorizer, REST TOKEN event (fresh tokens, distinct users, distinct paths)": "floor",
}


@dataclass(frozen=True, slots=True)
class Count:
    """Instructions per call of one case and the ratio to its reference's count."""

    name: str
    instructions: float
    ratio: float
    against: str


def available() -> bool:
    """Whether valgrind is installed (``apt-get install valgrind``)."""
    return shutil.which("valgrind") is not None


# -- child: runs under valgrind ------------------------------------------------------------------


def _child_cases(fixture: dict[str, Any]) -> dict[str, Callable[[], object]]:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    from bench import authorizer as authorizer_bench
    from bench import decide as decide_bench
    from cognito_authz import CognitoVerifier, Policy
    from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer
    from cognito_authz.token import parse_token

    public = serialization.load_pem_public_key(fixture["public_pem"].encode())
    parsed = parse_token(fixture["token"], algorithms={"RS256"})
    signature, signing_input = parsed.signature, parsed.signing_input
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()

    def verifier(cache_size: int) -> CognitoVerifier:
        built = CognitoVerifier(
            fixture["pool_id"],
            client_id=fixture["client_id"],
            token_use="access",
            offline=True,
            token_cache_size=cache_size,
        )
        built.load_jwks(fixture["jwks"])
        return built

    def cycle(call: Callable[[Any], object], items: list[Any]) -> Callable[[], object]:
        position = [0]
        count = len(items)

        def next_item() -> object:
            index = position[0] = (position[0] + 1) % count
            return call(items[index])

        return next_item

    distinct = fixture["distinct"]
    cycling = verifier(len(distinct) // 2)
    cached = verifier(64)
    token = fixture["token"]
    decide = {
        count: decide_bench._Three(decide_bench.build_policy(count), decide_bench._requests(count))
        for count in (10, 1_000)
    }
    policy = Policy.from_file(authorizer_bench.DATA / "policy.yaml")
    template = authorizer_bench._http_v2_template()
    personas = fixture["personas"]
    rest = authorizer_bench._cycler(
        LambdaAuthorizer(verifier(len(personas) // 2), policy),
        [authorizer_bench._rest_token_event(t) for t in personas],
    )
    http = authorizer_bench._cycler(
        LambdaAuthorizer(verifier(len(personas) // 2), policy),
        [authorizer_bench._http_v2_event(template, t) for t in personas],
    )
    rest_repeated = authorizer_bench._cycler(
        LambdaAuthorizer(verifier(64), policy), [authorizer_bench._rest_token_event(personas[0])]
    )
    http_repeated = authorizer_bench._cycler(
        LambdaAuthorizer(verifier(64), policy), [authorizer_bench._http_v2_event(template, personas[0])]
    )
    names = list(CASES)

    def distinct_paths() -> Callable[[], object]:
        # bench/authorizer.py's distinct-paths row: GET /orders/{n}, a new n on every call. Built on its
        # first (uncounted) call and run last, so its 4,096 events weigh on no other case.
        made: list[Callable[[], object]] = []

        def call() -> object:
            if not made:
                events = authorizer_bench.distinct_path_events(personas)
                made.append(
                    authorizer_bench._cycler(LambdaAuthorizer(verifier(len(personas) // 2), policy), events)
                )
            return made[0]()

        return call

    return {
        "(harness)": lambda: None,
        names[0]: lambda: public.verify(signature, signing_input, pkcs1, sha256),
        names[1]: cycle(cycling.verify, distinct),
        names[2]: lambda: cached.verify(token),
        # A _Three call decides three requests; the parent divides these two by three.
        names[3]: decide[10].call,
        names[4]: decide[1_000].call,
        names[5]: rest,
        names[6]: http,
        names[7]: rest_repeated,
        names[8]: http_repeated,
        names[9]: distinct_paths(),
    }


def _child(fixture_path: str, calls: int) -> None:
    import logging

    logging.getLogger("cognito_authz").setLevel(logging.ERROR)  # request-scope notices are expected
    fixture = json.loads(Path(fixture_path).read_text())
    cases = _child_cases(fixture)
    order = list(cases)
    for name in order:
        fn = cases[name]
        for _ in range(max(8, calls // 4)):  # warm: caches filled, first-call work done, not counted
            fn()
        # The only reduce call per case: one dump each, in this order.
        functools.reduce(lambda acc, _: fn(), range(calls), None)
    print(json.dumps(order))


# -- parent --------------------------------------------------------------------------------------


def _fixture(quick: bool) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization

    from bench import authorizer as authorizer_bench
    from cognito_authz.testing import LocalIssuer

    issuer = LocalIssuer(serve=False)
    distinct = 32 if quick else 128
    public_pem = (
        issuer.private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return {
        "pool_id": issuer.user_pool_id,
        "client_id": issuer.client_id,
        "jwks": issuer.jwks,
        "public_pem": public_pem.decode(),
        "token": issuer.mint_access_token(
            groups=["admin", "support"], scopes=["orders/read", "orders/write"]
        ),
        "distinct": [
            issuer.mint_access_token(username=f"user{n}", groups=["support"]) for n in range(distinct)
        ],
        "personas": [
            issuer.mint_access_token(
                username=f"user{n}",
                groups=authorizer_bench._PERSONAS[n % 3][0],
                scopes=authorizer_bench._PERSONAS[n % 3][1],
            )
            for n in range(distinct)
        ],
    }


def _environment(pycache: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    env["PYTHONHASHSEED"] = "0"  # same dict layouts in every run: counts repeat exactly
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
    return env


def _totals(directory: Path, stem: str) -> list[int]:
    """The ``totals:`` line of each numbered dump, in dump order."""
    dumps = sorted(directory.glob(f"{stem}.*"), key=lambda path: int(path.name.rsplit(".", 1)[1]))
    totals = []
    for dump in dumps:
        for line in dump.read_text().splitlines():
            if line.startswith("totals:"):
                totals.append(int(line.split()[1]))
                break
    return totals


def _valgrind(
    args: list[str], env: dict[str, str], out: Path, *, toggle: bool
) -> subprocess.CompletedProcess[str]:
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    if toggle:
        command += [f"--toggle-collect={MARKER}", f"--dump-after={MARKER}"]
    return subprocess.run(
        [*command, sys.executable, *args], env=env, capture_output=True, text=True, check=True, cwd=_ROOT
    )


def _collected(stderr: str) -> int:
    for line in stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip().replace(",", ""))
    raise RuntimeError("callgrind printed no instruction count")


def _cold_starts(env: dict[str, str], work: Path) -> dict[str, int]:
    from bench import coldstart

    counts: dict[str, int] = {}
    for name, args in coldstart.COMMANDS.items():
        subprocess.run([sys.executable, *args], env=env, capture_output=True, check=True, cwd=_ROOT)  # .pyc
        result = _valgrind(args, env, work / "cold.out", toggle=False)
        counts[name] = _collected(result.stderr)
    return counts


def run(*, quick: bool = False, cold: bool = True) -> list[Count]:
    """Every case's instructions per call and its ratio; raises ``RuntimeError`` without valgrind."""
    if not available():
        raise RuntimeError("valgrind is not installed (apt-get install valgrind)")
    calls = 40 if quick else 200
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as tmp:
        work = Path(tmp)
        fixture = work / "fixture.json"
        fixture.write_text(json.dumps(_fixture(quick)))
        env = _environment(str(work / "pycache"))
        result = _valgrind(
            ["-m", "bench.callgrind", "--child", str(fixture), str(calls)], env, work / "cases", toggle=True
        )
        order = json.loads(result.stdout.strip().splitlines()[-1])
        totals = _totals(work, "cases")
        if len(totals) != len(order) or not any(totals):
            raise RuntimeError(
                f"no per-case counts: is {MARKER} a symbol of {sys.executable}? (dumps: {totals})"
            )
        per_call = dict(zip(order, (total / calls for total in totals), strict=True))
        harness = per_call.pop("(harness)")
        names = list(CASES)
        counts = {name: per_call[name] - harness for name in names}
        for name in names:
            if name.startswith("decide,"):
                counts[name] /= 3  # a _Three call decides three requests
        floor = counts[names[0]]
        rows = [Count(name, counts[name], counts[name] / floor, "floor") for name in names]
        if cold:
            from bench import coldstart

            starts = _cold_starts(env, work)
            reference = starts[coldstart.REFERENCE]
            rows += [
                Count(f"cold start: {name}", count, count / reference, "import jwt")
                for name, count in starts.items()
            ]
        return rows


def format_counts(rows: list[Count]) -> str:
    """The instruction table ``python -m bench --callgrind`` prints."""
    width = max(len(row.name) for row in rows)
    lines = [f"{'case':<{width}}  {'instructions':>14}  {'ratio':>7}  of", "-" * (width + 36)]
    for row in rows:
        lines.append(f"{row.name:<{width}}  {row.instructions:>14,.0f}  {row.ratio:>6.3f}x  {row.against}")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], int(sys.argv[3]))
    else:
        print(format_counts(run(quick="--quick" in sys.argv)))
