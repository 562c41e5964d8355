"""The README's tour runs as written: its Python blocks, in order, in one session, in a folder holding the
tour's ``policy.yaml``; each block's printed output must equal the ``text`` block that follows it. The
shell commands it shows must parse with the real command line.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from cognito_authz.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def blocks(text: str) -> list[tuple[str, str]]:
    return [(match.group(1), match.group(2)) for match in FENCE.finditer(text)]


TOUR = blocks(section("A five-minute tour"))


def test_the_tour_has_what_it_promises() -> None:
    kinds = [kind for kind, _ in TOUR]
    assert kinds.count("python") >= 7
    assert kinds.count("yaml") == 1
    # Every block that prints is followed by the output it prints.
    for (kind, code), following in zip(TOUR, [*TOUR[1:], ("", "")], strict=True):
        if kind == "python" and "print(" in code:
            assert following[0] == "text", code


def test_the_tour_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (_kind, policy_text) = next(block for block in TOUR if block[0] == "yaml")
    assert policy_text.startswith("# policy.yaml\n")
    (tmp_path / "policy.yaml").write_text(policy_text)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    ran = 0
    for index, (kind, code) in enumerate(TOUR):
        if kind != "python":
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"README.md python block {index}", "exec"), namespace)
        ran += 1
        following = TOUR[index + 1] if index + 1 < len(TOUR) else ("", "")
        if following[0] == "text":
            assert printed.getvalue() == following[1], f"block {index} printed:\n{printed.getvalue()}"
        else:
            assert printed.getvalue() == "", f"block {index} printed output the README does not show"
    assert ran >= 7


def test_the_tours_tenant_claim_comes_from_an_id_token() -> None:
    """Stock access tokens carry no custom attributes: the tour must not read one from an access token."""
    tour = section("A five-minute tour")
    assert 'issuer.verifier(token_use="id")' in tour
    assert "custom_attributes=" in tour
    assert "pre token generation" in tour


def shell_commands(text: str) -> list[list[str]]:
    commands = []
    for kind, code in blocks(text):
        if kind != "bash":
            continue
        for line in code.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].strip()
            for part in line.split("&&"):
                if part.strip():
                    commands.append(shlex.split(part))
    return commands


def test_readme_commands_exist() -> None:
    commands = shell_commands(README)
    parser = build_parser()
    seen = set()
    for argv in commands:
        if argv[0] == "cognito-authz":
            parser.parse_args(argv[1:])  # SystemExit on an unknown command or option
            seen.add(argv[1])
        elif argv[:2] == ["pip", "install"]:
            extras = re.fullmatch(r"-e \.\[([a-z,]+)\]", " ".join(argv[2:]).replace('"', ""))
            assert extras, argv
            pyproject = (ROOT / "pyproject.toml").read_text()
            for extra in extras.group(1).split(","):
                assert re.search(rf"^{extra} = \[", pyproject, re.MULTILINE), extra
    assert {"demo", "package"} <= seen
    quick = section("Quick start")
    assert 'pip install -e ".[dev]" && cognito-authz demo' in quick
    assert 'pip install -e ".[dev]" && python -m pytest' in quick


def test_readme_points_at_files_that_exist() -> None:
    for path in re.findall(r"`((?:examples|docs)/[\w./-]+)`", README):
        assert (ROOT / path).exists(), path
    assert (ROOT / "LICENSE").read_text().startswith("\n                                 Apache License")


def test_docs_minimal_authorizer_snippet_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/snippets/authorizer_minimal.py, the handler two docs pages show, answers a real event."""
    import json as _json

    from cognito_authz.cli import demo_events
    from cognito_authz.iam import iam_allows
    from cognito_authz.testing import LocalIssuer

    issuer = LocalIssuer("eu-west-1_SnippetTest", serve=False)
    monkeypatch.setenv("USER_POOL_ID", issuer.user_pool_id)
    monkeypatch.setenv("APP_CLIENT_IDS", f"otherclient,{issuer.client_id}")
    monkeypatch.chdir(ROOT / "examples" / "authorizer")  # its policy.yaml
    namespace: dict[str, object] = {}
    snippet = ROOT / "docs" / "snippets" / "authorizer_minimal.py"
    exec(compile(snippet.read_text(), str(snippet), "exec"), namespace)
    verifier = namespace["verifier"]
    verifier.load_jwks(_json.loads(_json.dumps(issuer.jwks)))  # type: ignore[attr-defined]
    handler = namespace["handler"]
    token = issuer.mint_access_token(username="rita", scopes=["orders/read"])
    event = demo_events.rest_token_event(token, "GET", "/orders/42")
    assert iam_allows(handler(event, None)["policyDocument"], event["methodArn"])  # type: ignore[operator]
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        handler(demo_events.rest_token_event("not-a-token", "GET", "/orders/42"), None)  # type: ignore[operator]
    for page in ("getting-started.md", "adapters/lambda-authorizer.md"):
        text = (ROOT / "docs" / page).read_text()
        assert '--8<-- "docs/snippets/authorizer_minimal.py"' in text
        assert '--8<-- "examples/authorizer/handler.py"' not in text  # the full handler opens one page only
