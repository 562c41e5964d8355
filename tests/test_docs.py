"""The documentation site: `mkdocs build --strict` passes, the error reference covers every reason code,
the code samples the pages include run and print what the pages show, and the home page quotes the
README's quick start exactly.

Regenerate the recorded outputs after changing a sample: ``python tests/test_docs.py``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import runpy
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cognito_authz.errors import REASONS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SNIPPETS = DOCS / "snippets"
#: Samples that need a real user pool (they fetch keys or read files a deployment has); compiled only.
#: authorizer_minimal.py reads its configuration from the environment: tests/test_readme.py runs it with one.
NOT_RUN = {"verifier_cold_start.py", "authorizer_minimal.py"}
SNIPPET_LINE = re.compile(r'^\s*--8<--\s+"([^"]+)"\s*$', re.MULTILINE)
METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:k7xq2v9d1a/prod/GET/orders/42"
DESIGN = "examples/policies/design_example.yaml"
#: Command-line sessions shown in the docs: docs/snippets/<name>.out holds the command and its output.
CLI_SESSIONS: dict[str, list[str]] = {
    "cli_lint_flawed": ["lint", "docs/snippets/flawed_policy.yaml"],
    "cli_lint": ["lint", DESIGN],
    "cli_lint_tenant_root": ["lint", "examples/policies/design_example_tenant_root.yaml"],
    "cli_test": ["test", DESIGN, "examples/policies/design_example.cases.yaml"],
    "cli_explain": [
        "explain",
        DESIGN,
        "--claims",
        "docs/snippets/carol.json",
        "GET",
        "/tenants/globex/invoices",
    ],
    "cli_iam": ["iam", DESIGN, "--claims", "docs/snippets/carol.json", "--method-arn", METHOD_ARN],
    "cli_lint_orders": ["lint", "examples/authorizer/policy.yaml"],
    "cli_iam_orders": [
        "iam",
        "examples/authorizer/policy.yaml",
        "--claims",
        "docs/snippets/carol.json",
        "--method-arn",
        METHOD_ARN,
    ],
    "cli_matrix": ["matrix", DESIGN, "--cases", "examples/policies/design_example.cases.yaml"],
    "cli_matrix_diff": [
        "matrix",
        DESIGN,
        "--cases",
        "examples/policies/design_example.cases.yaml",
        "--diff",
        "docs/snippets/design_example_before.yaml",
        "--format",
        "markdown",
    ],
    "cli_export_cedar": ["export", "cedar", DESIGN, "--part", "policies"],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the site once, strictly, into a temporary directory."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


def test_site_builds_strictly(site: Path) -> None:
    for page in (
        "index.html",
        "verifier/index.html",
        "policy/index.html",
        "errors/index.html",
        "adapters/lambda-authorizer/index.html",
        "deployment/index.html",
    ):
        assert (site / page).is_file(), page


def test_error_reference_covers_every_reason_code(site: Path) -> None:
    html = (site / "errors" / "index.html").read_text(encoding="utf-8")
    missing = [code for code in REASONS if f'id="{code}"' not in html or f"<code>{code}</code>" not in html]
    assert not missing, f"reason codes missing from the error reference: {missing}"
    for cls, _ in REASONS.values():
        assert f"<code>{cls.__name__}</code>" in html, cls.__name__
    assert "<!-- reasons -->" not in html


def test_every_included_file_exists() -> None:
    # check_paths fails the build too; this names the page and the path without building.
    for page in DOCS.rglob("*.md"):
        for target in SNIPPET_LINE.findall(page.read_text(encoding="utf-8")):
            path = re.sub(r":[a-z_]+$", "", target)  # "file.py:section" includes a marked section
            assert (ROOT / path).is_file(), f"{page.relative_to(ROOT)} includes missing {target}"


def test_verifier_page_lists_every_option_with_its_real_default() -> None:
    import ast
    import inspect
    import time

    from cognito_authz import CognitoVerifier

    parameters = dict(inspect.signature(CognitoVerifier.__init__).parameters)
    del parameters["self"]
    page = (DOCS / "verifier.md").read_text(encoding="utf-8")
    undocumented = [name for name in parameters if f"| `{name}` |" not in page]
    assert not undocumented, f"verifier.md has no row for {undocumented}"

    # docs/snippets/verifier_options.py spells out every option with its default.
    tree = ast.parse((SNIPPETS / "verifier_options.py").read_text(encoding="utf-8"))
    call = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "CognitoVerifier"
    )
    shown = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg is not None}
    assert set(shown) | {"user_pool_id"} == set(parameters), "verifier_options.py lacks or adds options"
    for name, node in shown.items():
        default = parameters[name].default
        if default is inspect.Parameter.empty:
            continue
        value = eval(compile(ast.Expression(node), "<option>", "eval"), {"time": time})
        assert value == default, f"verifier_options.py shows {name}={value!r}, the default is {default!r}"


ADAPTER_PAGES = {
    "adapters/lambda-authorizer.md": (
        "cognito_authz.adapters.lambda_authorizer",
        "LambdaAuthorizer.__init__",
    ),
    "adapters/handler.md": ("cognito_authz.adapters.handler", "protect"),
    "adapters/asgi.md": ("cognito_authz.adapters.asgi", "CognitoAuthMiddleware.__init__"),
    "adapters/wsgi.md": ("cognito_authz.adapters.wsgi", "CognitoWsgiMiddleware.__init__"),
    "adapters/powertools.md": ("cognito_authz.adapters.powertools", "CognitoResolverMiddleware.__init__"),
    "testing.md": ("cognito_authz.testing.issuer", "LocalIssuer.__init__"),
}


@pytest.mark.parametrize("page", sorted(ADAPTER_PAGES))
def test_adapter_page_names_every_option(page: str) -> None:
    import importlib
    import inspect

    module_name, qualname = ADAPTER_PAGES[page]
    target: object = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    text = (DOCS / page).read_text(encoding="utf-8")
    options = inspect.signature(target).parameters.values()  # type: ignore[arg-type]
    names = [
        option.name
        for option in options
        if option.kind is option.KEYWORD_ONLY
        or (option.kind is option.POSITIONAL_OR_KEYWORD and option.default is not option.empty)
    ]
    missing = [name for name in names if not re.search(rf"\b{re.escape(name)}\b", text)]
    assert not missing, f"{page} does not mention {qualname} options {missing}"


def _readme_quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README's quick start has no bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_home_page_quotes_the_readme_quick_start() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for line in _readme_quick_start():
        assert line in index, f"docs/index.md lacks the README quick-start line {line!r}"


@contextlib.contextmanager
def _in_root() -> Iterator[None]:
    before = Path.cwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(before)


def _run(sample: Path) -> str:
    out = io.StringIO()
    with _in_root(), contextlib.redirect_stdout(out):
        runpy.run_path(str(sample), run_name="__main__")
    return out.getvalue()


SAMPLES = sorted(SNIPPETS.glob("*.py"))


@pytest.mark.parametrize("sample", SAMPLES, ids=[path.name for path in SAMPLES])
def test_sample_runs_and_prints_what_the_page_shows(sample: Path) -> None:
    code = compile(sample.read_text(encoding="utf-8"), str(sample), "exec")
    if sample.name in NOT_RUN:
        assert code is not None
        return
    printed = _run(sample)
    recorded = sample.with_suffix(".out")
    if recorded.exists():
        assert printed == recorded.read_text(encoding="utf-8"), (
            f"{sample.name} prints something else than {recorded.name} (shown in the docs); "
            "run `python tests/test_docs.py` to record the new output"
        )


def _session(args: list[str]) -> str:
    from cognito_authz.cli import main

    out = io.StringIO()
    with _in_root(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = main(args)
    shown = f"$ cognito-authz {shlex.join(args)}\n{out.getvalue()}"
    return shown + (f"[exit status {status}]\n" if status else "")


#: The cache-safety analysis names one example request, which depends on set iteration order.
_EXAMPLE_REQUEST = re.compile(r"(principal with groups \[[^]]*\]: )[A-Z]+ /\S*( is allowed but)")


def _stable(text: str) -> str:
    return _EXAMPLE_REQUEST.sub(r"\1<request>\2", text)


@pytest.mark.parametrize("name", sorted(CLI_SESSIONS))
def test_cli_session_prints_what_the_page_shows(name: str) -> None:
    recorded = SNIPPETS / f"{name}.out"
    assert _stable(_session(CLI_SESSIONS[name])) == _stable(recorded.read_text(encoding="utf-8")), (
        f"`cognito-authz {shlex.join(CLI_SESSIONS[name])}` prints something else than {recorded.name} "
        "(shown in the docs); run `python tests/test_docs.py` to record the new output"
    )


if __name__ == "__main__":
    for path in SAMPLES:
        if path.name not in NOT_RUN and path.with_suffix(".out").exists():
            path.with_suffix(".out").write_text(_run(path), encoding="utf-8")
            print("recorded", path.with_suffix(".out").relative_to(ROOT))
    for name, args in CLI_SESSIONS.items():
        (SNIPPETS / f"{name}.out").write_text(_session(args), encoding="utf-8")
        print("recorded", (SNIPPETS / f"{name}.out").relative_to(ROOT))
