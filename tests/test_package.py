"""The layering of docs/architecture.md ("Layers"), checked on the real import graph in fresh interpreters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; import json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(json.loads(out))


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_policy_engine_is_pure() -> None:
    """The policy decides offline: no verifier, JWKS cache, pyjwt, requests or cryptography."""
    modules = loaded_after("import cognito_authz.policy")
    assert not {"cognito_authz.verifier", "cognito_authz.jwks", "cognito_authz.token"} & modules
    assert not {"jwt", "requests", "cryptography"} & top_level(modules)


def test_package_import_is_light() -> None:
    """`import cognito_authz` loads no layer until a name is used."""
    modules = loaded_after("import cognito_authz")
    assert not {"cognito_authz.verifier", "cognito_authz.policy"} & modules
    assert not {"jwt", "requests", "pydantic", "yaml", "starlette", "flask"} & top_level(modules)


@pytest.mark.parametrize(
    "statement",
    [
        "from cognito_authz import CognitoVerifier",
        "from cognito_authz.adapters.lambda_authorizer import LambdaAuthorizer",
        "from cognito_authz.adapters.handler import protect",
    ],
)
def test_frameworks_and_requests_are_not_imported_by_core_paths(statement: str) -> None:
    modules = top_level(loaded_after(statement))
    assert not {"requests", "starlette", "fastapi", "flask", "aws_lambda_powertools"} & modules


def test_public_names_resolve() -> None:
    import cognito_authz

    for name in cognito_authz.__all__:
        assert getattr(cognito_authz, name).__name__ == name
    with pytest.raises(AttributeError):
        _ = cognito_authz.NoSuchThing  # type: ignore[attr-defined]


def test_lambda_cold_start_imports_only_what_a_request_needs() -> None:
    """The bench's Lambda init (an authorizer from a JSON policy and a bundled JWKS, docs/performance.md)
    leaves out what its first request does not use: file-path, socket and URL-parsing modules, the
    linter and decision tables, PyYAML, pydantic and requests."""
    lambda_file = Path(__file__).resolve().parents[1] / "bench" / "data" / "lambda_function.py"
    policy_file = lambda_file.with_name("policy.json")
    modules = loaded_after(
        f"sys.argv = [{str(lambda_file)!r}, {str(policy_file)!r}]; "
        f"exec(compile(open({str(lambda_file)!r}).read(), {str(lambda_file)!r}, 'exec'), "
        f"{{'__name__': '__main__', '__file__': {str(lambda_file)!r}}})"
    )
    assert "cognito_authz.adapters.lambda_authorizer" in modules  # the init did run
    assert (
        not {
            "pathlib",
            "socket",
            "urllib.parse",
            "ipaddress",
            "cognito_authz.policy.lint",
            "cognito_authz.policy.tables",
        }
        & modules
    )
    assert not {"yaml", "pydantic", "requests", "jwt"} & top_level(modules)


#: What ``dataclasses`` brings with it (``tokenize`` too, but ``logging`` shares that one through
#: ``linecache``); none of it may come back onto the start-up path (each class would cost ≈ 3.9 M
#: instructions to create, docs/performance.md "Cold start").
_DATACLASS_MODULES = {"dataclasses", "inspect", "ast", "dis"}
_LAMBDA_FILE = Path(__file__).resolve().parents[1] / "bench" / "data" / "lambda_function.py"


def _lambda_init(policy_file: Path, then: str = "pass") -> set[str]:
    """Modules loaded by the bench's Lambda init (import, keys, policy, authorizer), then by ``then``
    (a statement that may use the init's ``handler``)."""
    return loaded_after(
        f"sys.argv = [{str(_LAMBDA_FILE)!r}, {str(policy_file)!r}]; "
        f"init = {{'__name__': '__main__', '__file__': {str(_LAMBDA_FILE)!r}}}; "
        f"exec(compile(open({str(_LAMBDA_FILE)!r}).read(), {str(_LAMBDA_FILE)!r}, 'exec'), init); "
        f"handler = init['handler']; {then}"
    )


@pytest.mark.parametrize("policy_name", ["policy.json", "policy.yaml"])
def test_cold_start_imports_no_dataclasses(policy_name: str) -> None:
    """Every class the authorizer's start-up defines is a plain slotted class (cognito_authz._frozen)."""
    modules = _lambda_init(_LAMBDA_FILE.with_name(policy_name))
    assert "cognito_authz.adapters.lambda_authorizer" in modules  # the init did run
    assert "cognito_authz.iam.builder" in modules
    assert not _DATACLASS_MODULES & modules


def test_refusing_an_assignment_is_what_loads_dataclasses() -> None:
    # The check above sees dataclasses when it is loaded: misuse of a frozen class loads it (for the
    # error frozen dataclasses raise), and the same subprocess then reports it.
    modules = _lambda_init(
        _LAMBDA_FILE.with_name("policy.json"),
        then="assert 'dataclasses' not in sys.modules; "
        "exec('try:\\n handler.policy.rules[0].id = 1\\nexcept AttributeError:\\n pass')",
    )
    assert "dataclasses" in modules


_CACHE_SAFE = {
    "version": 1,
    "rules": [
        {"id": "admins", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
        {"id": "readers", "routes": ["GET /orders/{orderId}"], "when": {"scopes": ["orders/read"]}},
    ],
}


def test_a_cache_safe_authorizer_starts_without_logging(tmp_path: Path) -> None:
    """Nothing is logged while a cache-safe policy's authorizer starts, so ``logging`` stays unloaded
    until something is (cognito_authz._log); a policy that is not cache-safe warns, and loads it."""
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(json.dumps(_CACHE_SAFE))
    quiet = _lambda_init(policy_file, then="assert handler.cache_safety.safe")
    assert "cognito_authz.adapters.lambda_authorizer" in quiet
    assert not {"logging", "traceback", "tokenize", *_DATACLASS_MODULES} & quiet
    # The bench's own policy has a tenant guard: it warns at start-up, still without loading logging
    # (nothing configured it, so the line goes to stderr as logging's last resort would write it).
    warned = _lambda_init(_LAMBDA_FILE.with_name("policy.json"), then="assert not handler.cache_safety.safe")
    assert "cognito_authz.adapters.lambda_authorizer" in warned
    assert not {"logging", "traceback", "tokenize"} & warned


def _stderr_of_init(preamble: str) -> str:
    script = (
        f"{preamble}\n"
        f"import sys; sys.argv = [{str(_LAMBDA_FILE)!r}, {str(_LAMBDA_FILE.with_name('policy.json'))!r}]\n"
        f"exec(compile(open({str(_LAMBDA_FILE)!r}).read(), {str(_LAMBDA_FILE)!r}, 'exec'), "
        f"{{'__name__': '__main__', '__file__': {str(_LAMBDA_FILE)!r}}})\n"
        "print('logging' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip() + "|" + done.stderr


def test_the_start_up_warning_reads_the_same_with_or_without_logging_loaded() -> None:
    """Without ``logging`` loaded, the lazy logger writes what ``logging``'s last resort would; with it
    loaded (as under AWS Lambda's runtime) the real logger writes it. The two stderr texts are equal."""
    without = _stderr_of_init("")
    loaded = _stderr_of_init("import logging")
    configured = _stderr_of_init(
        "import logging; logging.basicConfig(format='%(levelname)s %(name)s %(message)s')"
    )
    assert without.startswith("False|")
    assert loaded.startswith("True|")
    assert "policy is not cache-safe for principal-wide documents (rules tenant-guard)" in without
    assert without.removeprefix("False|") == loaded.removeprefix("True|")
    # Configured logging gets a real record, with its level and logger name.
    assert "WARNING cognito_authz.authorizer policy is not cache-safe" in configured


def test_the_lazy_logger_without_logging_drops_what_logging_would_drop() -> None:
    script = (
        "import sys\n"
        "from cognito_authz._log import get_logger\n"
        "log = get_logger('cognito_authz.test')\n"
        "log.debug('d %s', 1); log.info('i %s', 2)\n"
        "log.warning('w %s', 3); log.error('e %s', 4); log.critical('c')\n"
        "print('logging' in sys.modules)\n"
        "log.warning('bad %d', 'x')\n"  # a bad format: logging's own error report
        "print('logging' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "True"]
    assert done.stderr.startswith("w 3\ne 4\nc\n")
    assert "--- Logging error ---" in done.stderr


def test_the_lazy_loggers_is_enabled_for_is_the_real_loggers() -> None:
    """``isEnabledFor`` is the lazy logger's own method (no failed lookup per call): it answers as the
    real logger does, at every level, as the level, the disabled flag and ``logging.disable`` change."""
    import logging

    from cognito_authz._log import get_logger

    lazy = get_logger("cognito_authz.test_enabled")
    real = logging.getLogger("cognito_authz.test_enabled")
    levels = (0, 5, logging.DEBUG, logging.INFO, 25, logging.WARNING, logging.ERROR, logging.CRITICAL, 99)
    try:
        for level in (logging.NOTSET, logging.DEBUG, logging.INFO, logging.ERROR):
            real.setLevel(level)
            for disabled in (False, True):
                real.disabled = disabled
                for everything_below in (logging.NOTSET, logging.WARNING):
                    logging.disable(everything_below)
                    assert [lazy.isEnabledFor(n) for n in levels] == [real.isEnabledFor(n) for n in levels]
    finally:
        logging.disable(logging.NOTSET)
        real.disabled = False
        real.setLevel(logging.NOTSET)


def test_cold_start_never_calls_compile() -> None:
    """The first ``compile()`` in a process initialises the interpreter's AST types (≈ 9 M instructions,
    docs/performance.md): a ``typing.NamedTuple`` in class form under ``from __future__ import
    annotations`` does it for its string annotations, so the start-up path declares none that way."""
    spied = subprocess.run(
        [
            sys.executable,
            "-c",
            "import builtins, sys\n"
            "seen = []\n"
            "real = builtins.compile\n"
            "def spy(source, filename, *args, **kwargs):\n"
            "    caller = sys._getframe(1).f_globals.get('__name__')\n"
            "    if caller not in ('importlib._bootstrap', '_frozen_importlib'):  # source without bytecode\n"
            "        seen.append(caller)\n"
            "    return real(source, filename, *args, **kwargs)\n"
            "source = open(sys.argv[1]).read()\n"
            "code = real(source, sys.argv[1], 'exec')\n"
            "builtins.compile = spy\n"
            "sys.argv = sys.argv[1:]\n"
            "exec(code, {'__name__': '__main__', '__file__': sys.argv[0]})\n"
            "print(seen)\n",
            str(_LAMBDA_FILE),
            str(_LAMBDA_FILE.with_name("policy.json")),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert spied.strip().splitlines()[-1] == "[]", spied
