"""The ``cognito-authz`` command line: every command through ``main([...])`` with real files, real tokens
from a LocalIssuer and real loopback servers, plus one run of the installed console script.
"""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cognito_authz import CognitoVerifier
from cognito_authz.cli import demo_events as events
from cognito_authz.cli import main
from cognito_authz.errors import ExpiredTokenError
from cognito_authz.iam import MethodArn, document_size, iam_allows
from cognito_authz.testing import LocalIssuer
from cognito_authz.testing.issuer import DEFAULT_CLIENT_ID, DEFAULT_POOL_ID

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "examples" / "policies"
DEMO_POLICY = POLICIES / "demo.yaml"
DEMO_CASES = POLICIES / "demo.cases.yaml"
DESIGN_POLICY = POLICIES / "design_example.yaml"
DESIGN_CASES = POLICIES / "design_example.cases.yaml"
#: design_example's rules behind a table with a route for each tenant itself: not cache-safe.
TENANT_ROOT_POLICY = POLICIES / "design_example_tenant_root.yaml"
EVENTS = Path(__file__).resolve().parent / "events"
ARN = "arn:aws:execute-api:eu-west-1:123456789012:k7xq2v9d1a/prod/GET/orders/42"

#: Small and cache-safe: every principal gets an exact principal-wide document, quickly.
ORDERS_POLICY: dict[str, Any] = {
    "version": 1,
    "groups": ["admin", "support"],
    "rules": [
        {"id": "admin-everything", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}},
        {
            "id": "read-orders",
            "routes": ["GET /orders", "GET /orders/{orderId}"],
            "when": {"scopes": ["orders/read"]},
        },
        {"id": "own-profile", "routes": ["GET /users/{userId}"], "when": {"claims": {"sub": "{userId}"}}},
    ],
}
ORDERS_CASES: dict[str, Any] = {
    "cases": [
        {
            "principal": {"sub": "ada", "groups": ["admin"]},
            "method": "DELETE",
            "path": "/orders/1",
            "expect": "allow",
            "rule": "admin-everything",
        },
        {
            "principal": {"sub": "bo", "scopes": ["orders/read"]},
            "method": "GET",
            "path": "/orders/7",
            "expect": "allow",
            "rule": "read-orders",
        },
        {
            "principal": {"sub": "bo", "scopes": ["orders/read"]},
            "method": "POST",
            "path": "/orders",
            "expect": "deny",
            "reason": "no_matching_rule",
        },
        {
            "principal": {"sub": "bo", "scopes": ["orders/read"]},
            "method": "GET",
            "path": "/users/bo",
            "expect": "allow",
            "rule": "own-profile",
        },
    ]
}

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """``cli("lint", path, ...) -> (status, stdout, stderr)``."""

    def run(*argv: str) -> tuple[int, str, str]:
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return run


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data) if path.suffix == ".json" else yaml.safe_dump(data))
    return path


def one_error_line(err: str) -> str:
    """The whole of stderr must be a single ``cognito-authz: error: ...`` line (no traceback, no usage)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cognito-authz: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def orders_files(tmp_path: Path) -> tuple[Path, Path]:
    return write(tmp_path / "orders.json", ORDERS_POLICY), write(tmp_path / "orders.cases.yaml", ORDERS_CASES)


@pytest.fixture
def alice_claims(tmp_path: Path) -> Path:
    return write(
        tmp_path / "alice.json",
        {"sub": "alice", "cognito:groups": ["member"], "scope": "projects/read", "custom:tenant_id": "acme"},
    )


# --- the command line itself ------------------------------------------------------------------------


def test_help_lists_every_command(cli: Run) -> None:
    status, out, _ = cli("--help")
    assert status == 0
    for command in ("demo", "lint", "explain", "test", "iam", "matrix", "export", "mint", "jwks"):
        assert re.search(rf"^\s+{command}\s", out, re.MULTILINE), command


def test_version(cli: Run) -> None:
    status, out, _ = cli("--version")
    assert status == 0
    assert re.fullmatch(r"cognito-authz \S+\n", out)


def test_no_command_prints_help_and_fails(cli: Run) -> None:
    status, _, err = cli()
    assert status == 2
    assert "COMMAND" in err


@pytest.mark.parametrize(
    "argv",
    [
        ("frobnicate",),
        ("lint",),
        ("explain", "p.yaml", "GET", "/x"),  # neither --claims nor --token
        ("mint", "--lifetime", "soon"),
        ("jwks",),
    ],
)
def test_usage_errors_are_one_line_exit_2(cli: Run, argv: tuple[str, ...]) -> None:
    status, out, err = cli(*argv)
    assert status == 2
    assert out == ""
    line = one_error_line(err)
    assert "--help" in line


def test_help_imports_no_policy_engine() -> None:
    # --help must stay cheap: the policy engine (pydantic), the adapters and requests load per command.
    code = (
        "import sys, contextlib, io\n"
        "from cognito_authz.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['--help']) == 0\n"
        "heavy = [m for m in ('pydantic', 'cognito_authz.policy', 'cognito_authz.adapters', 'requests') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_python_dash_m_runs_the_same_main() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cognito_authz.cli", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.startswith("cognito-authz ")


# --- demo -------------------------------------------------------------------------------------------


def test_demo_package_data_equals_the_example_files() -> None:
    package = files("cognito_authz.cli")
    regenerate = "regenerate cognito_authz/cli/demo_*.json from examples/policies/demo*.yaml (yaml -> json)"
    policy = json.loads(package.joinpath("demo_policy.json").read_text(encoding="utf-8"))
    cases = json.loads(package.joinpath("demo_cases.json").read_text(encoding="utf-8"))
    assert policy == yaml.safe_load(DEMO_POLICY.read_text()), regenerate
    assert cases == yaml.safe_load(DEMO_CASES.read_text()), regenerate


def _demo_document(out: str) -> dict[str, Any]:
    start = out.index("IAM policy the authorizer returned")
    body = out[out.index("\n", start) + 1 :]
    end = body.index("\n}\n") + 2
    document: dict[str, Any] = json.loads(body[:end])
    return document


def test_demo_prints_the_table_and_exits_0(cli: Run) -> None:
    status, out, err = cli("demo")
    assert status == 0, out
    assert err == ""
    header = next(line for line in out.splitlines() if line.startswith("persona "))
    assert re.match(r"persona\s+flavour\s+request\s+decision\s+determining rule\s+call ms\s+check$", header)
    # The timing column says what it measures.
    assert "call ms: wall-clock time of this row's one call into the authorizer or the protected" in out
    # Handler rows that deny name their rule like the authorizer rows do, never "-".
    handler_denies = [
        line for line in out.splitlines() if re.search(r"\shandler (REST v1|HTTP 2\.0)\s.*\sdeny\s", line)
    ]
    assert handler_denies
    for line in handler_denies:
        assert re.search(r"\sdeny\s+(\(default deny\)|[a-z][-a-z]+)\s+\d+\.\d\d\s+ok$", line), line
    assert re.search(r"handler HTTP 2\.0\s+GET /tenants/globex/projects\s+deny\s+tenant-isolation\s", out)
    # Every entry of the printed IAM document is explained.
    for resource in (r for statement in _demo_document(out)["Statement"] for r in statement["Resource"]):
        short = resource.split(":k7xq2v9d1a/", 1)[1]
        assert re.search(rf"^  (Allow|Deny)\s+{re.escape(short)}: \S", out, re.MULTILINE), short
    for persona in ("op-1", "alice", "rita", "carol", "nobody"):
        assert re.search(rf"^{persona}\s", out, re.MULTILINE), persona
    for flavour in (
        "REST TOKEN",
        "REST REQUEST",
        "HTTP API 2.0",
        "WebSocket",
        "handler REST v1",
        "handler HTTP 2.0",
    ):
        assert flavour in out
    assert "decision table (engine): 33 cases, 33 passed" in out
    assert "MISMATCH" not in out
    assert "(expired token)" in out
    assert re.search(r"forged: \S+ claims on \S+ signature\)\s+unauthorized", out)
    document = _demo_document(out)
    assert document["Version"] == "2012-10-17"
    assert document["Statement"][0]["Action"] == "execute-api:Invoke"
    assert re.search(r"^OK: finished in \d+\.\d\d s$", out, re.MULTILINE)


def test_demo_json_reports_every_row_as_api_gateway_would_read_it(cli: Run) -> None:
    status, out, _ = cli("demo", "--json")
    assert status == 0
    report = json.loads(out)
    assert report["ok"] is True
    rows = report["rows"]
    table = yaml.safe_load(DEMO_CASES.read_text())["cases"]
    assert len(rows) == len(table) + 2  # each case once, plus the expired and the forged token
    for row, case in zip(rows, table, strict=False):
        assert (row["method"] or None, row["path"], row["expected"]) == (
            case.get("method"),
            case["path"],
            case["expect"],
        )
        assert row["decision"] == row["expected"]
        assert row["ok"]
        if case.get("rule") and row["rules"] is not None:
            assert case["rule"] in row["rules"]
    assert {row["flavour"] for row in rows} == {
        "REST TOKEN",
        "REST REQUEST",
        "HTTP API 2.0",
        "WebSocket",
        "handler REST v1",
        "handler HTTP 2.0",
    }
    assert [row["decision"] for row in rows[-2:]] == ["unauthorized", "unauthorized"]
    sample = report["iam_policy"]
    method, path = sample["request"].split(" ", 1)
    arn = events.method_arn(events.REST_API_ID, events.REST_STAGE, method, path)
    assert iam_allows(sample["document"], arn)
    assert report["elapsed_s"] < 10


def test_demo_every_flavour_sends_each_case_through_all(cli: Run) -> None:
    status, out, _ = cli("demo", "--json", "--every-flavour")
    assert status == 0
    rows = json.loads(out)["rows"]
    table = yaml.safe_load(DEMO_CASES.read_text())["cases"]
    websocket = sum(1 for case in table if case["path"].startswith("$"))
    assert len(rows) == (len(table) - websocket) * 5 + websocket + 2
    assert all(row["ok"] for row in rows)
    # Every deny names its determining rules (empty: default deny), whichever adapter answered.
    for row in rows:
        if row["decision"] == "deny":
            assert row["rules"] is not None, row
            if row["expected_rule"]:
                assert row["expected_rule"] in row["rules"], row


def test_demo_explains_each_iam_entry() -> None:
    from cognito_authz.cli.demo_report import explain_document

    arn = "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/orders"
    head = "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/"
    document = {
        "Statement": [
            {"Effect": "Allow", "Resource": [head + "GET/orders/*", head + "*/*"]},
            {"Effect": "Deny", "Resource": [head + "*/", head + "*%*", head + "DELETE/orders/*"]},
        ]
    }
    lines = "\n".join(explain_document(document, arn))
    assert "Allow prod/GET/orders/*: GET /orders/* (* spans any text, '/' included)" in lines
    assert "Allow prod/*/*: every method on every path" in lines
    assert "Deny  prod/*/: every method on the root path / (the policy denies it" in lines
    assert "Deny  prod/*%*: any path holding a percent-escape" in lines
    assert "Deny  prod/DELETE/orders/*: DELETE /orders/*" in lines


def test_demo_expectations_come_from_the_table(cli: Run, tmp_path: Path) -> None:
    # Flip one expectation of the demo table: the demo must notice, in the engine and in the adapters.
    cases = yaml.safe_load(DEMO_CASES.read_text())
    flipped = copy.deepcopy(cases)
    target = next(i for i, case in enumerate(flipped["cases"]) if case["name"] == "member in another tenant")
    flipped["cases"][target].update(expect="allow", reason=None, rule=None)
    policy = write(tmp_path / "demo.json", yaml.safe_load(DEMO_POLICY.read_text()))
    table = write(tmp_path / "flipped.json", flipped)
    status, out, _ = cli("demo", "--policy", str(policy), "--cases", str(table))
    assert status == 1
    assert "33 cases, 32 passed, 1 failed" in out
    assert "FAIL member in another tenant: deny" in out
    mismatch = [line for line in out.splitlines() if "MISMATCH" in line]
    assert len(mismatch) == 1
    assert "GET /tenants/globex/projects" in mismatch[0]
    assert "expected allow" in mismatch[0]
    assert "FAILED: finished" in out


def test_demo_principal_scope_returns_principal_wide_documents(
    cli: Run, orders_files: tuple[Path, Path]
) -> None:
    policy, cases = orders_files
    status, out, _ = cli(
        "demo", "--policy", str(policy), "--cases", str(cases), "--policy-scope", "principal", "--json"
    )
    assert status == 0, out
    report = json.loads(out)
    assert report["policy_scope"] == "principal"
    document = report["iam_policy"]["document"]
    # ada is an admin: one document for every route of the API, not just the request's ARN.
    assert report["iam_policy"]["persona"] == "ada"
    arn = events.method_arn(events.REST_API_ID, events.REST_STAGE, "PATCH", "/anything/else")
    assert iam_allows(document, arn)


def test_demo_shows_every_persona_gets_an_exact_cached_answer(cli: Run) -> None:
    status, out, _ = cli("demo", "--json")
    assert status == 0, out
    answers = json.loads(out)["cached_answers"]
    assert set(answers) == {"op-1", "op-2", "alice", "rita", "carol", "nobody"}
    assert all(
        answer == {"scope": "principal", "exact": True, "reason": "", "rules": []}
        for answer in answers.values()
    )
    status, text, _ = cli("demo")
    assert "cached answers: 6 of 6 personas get an exact principal-wide IAM document" in text


def test_demo_on_the_design_example_matches_its_table_and_every_answer_is_exact(cli: Run) -> None:
    # Every persona of the policy-language example, through every adapter the demo drives: each decision as
    # the decision table says (a protected handler denies /orders// rather than answering 500; groups a
    # case gives in API Gateway's forwarded string form are minted as the list the token carries), and
    # each cached answer exact over the example's route table.
    status, out, _ = cli("demo", "--policy", str(DESIGN_POLICY), "--cases", str(DESIGN_CASES), "--json")
    report = json.loads(out)
    assert [row for row in report["rows"] if not row["ok"]] == []
    assert status == 0
    assert report["ok"] is True
    answers = report["cached_answers"]
    assert len(answers) == 9
    assert [name for name, answer in answers.items() if not answer["exact"]] == []


def test_demo_names_the_persona_whose_cached_answer_cannot_be_exact(cli: Run) -> None:
    # With a route for each tenant itself, design_example's admin with a tenant may GET every tenant but
    # reach only their own tenant's subtree: no set of IAM globs says that (docs/deployment.md), so the
    # demo says which persona and which rule.
    _, out, _ = cli("demo", "--policy", str(TENANT_ROOT_POLICY), "--cases", str(DESIGN_CASES), "--json")
    answers = json.loads(out)["cached_answers"]
    inexact = {name: answer for name, answer in answers.items() if not answer["exact"]}
    assert list(inexact) == ["admin-1 (groups: admin; custom:tenant_id=acme)"]
    assert inexact["admin-1 (groups: admin; custom:tenant_id=acme)"] == {
        "scope": "principal",
        "exact": False,
        "reason": "inexact",
        "rules": ["admin-everything"],
    }
    assert len(answers) == 9


def test_demo_policy_without_cases_is_an_error(cli: Run) -> None:
    status, _, err = cli("demo", "--policy", str(DEMO_POLICY))
    assert status == 1
    assert "--policy and --cases go together" in one_error_line(err)


def test_demo_events_have_the_documented_shapes() -> None:
    # The demo builds its events itself (it cannot read tests/); they must keep the fixtures' shapes.
    def fixture(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((EVENTS / name).read_text())
        return data

    token, method, path = "TOKEN", "GET", "/orders/42"
    pairs = [
        (events.rest_token_event(token, method, path), fixture("rest_token.json"), True),
        (events.rest_request_event(token, method, path), fixture("rest_request.json"), True),
        (events.http_v2_authorizer_event(token, method, path), fixture("http_v2_request.json"), False),
        (events.websocket_connect_event(token), fixture("websocket_connect.json"), True),
        (events.rest_v1_proxy_event(token, method, path), fixture("proxy_rest_v1.json"), True),
        (events.http_v2_proxy_event(token, method, path), fixture("proxy_http_v2.json"), False),
    ]
    for built, documented, same_keys in pairs:
        # HTTP API events omit empty optional fields (cookies, queryStringParameters, stageVariables).
        assert set(built) == set(documented) if same_keys else set(built) <= set(documented)
        if "requestContext" in built:
            documented_context = set(documented["requestContext"]) - {"authorizer"}
            assert set(built["requestContext"]) == documented_context
        arn = built.get("methodArn") or built.get("routeArn")
        if arn is not None:
            parsed = MethodArn.parse(arn)
            assert parsed.path in (path, "$connect")
    rest = events.rest_request_event(token, method, path)
    assert rest["requestContext"]["path"] == f"/{events.REST_STAGE}{path}"
    assert rest["multiValueHeaders"]["Authorization"] == ["Bearer TOKEN"]


def test_demo_needs_neither_pyyaml_nor_the_examples_folder(tmp_path: Path) -> None:
    # A plain `pip install cognito-authz`: no yaml extra (importing it fails), no examples/ around.
    code = (
        "import sys\n"
        "sys.modules['yaml'] = None  # import yaml now raises ImportError\n"
        "from cognito_authz.cli import main\n"
        "sys.exit(main(['demo']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "33 cases, 33 passed" in result.stdout


def test_installed_console_script_runs_the_demo() -> None:
    script = shutil.which("cognito-authz", path=str(Path(sys.executable).parent)) or shutil.which(
        "cognito-authz"
    )
    assert script is not None, "the cognito-authz console script is not installed (pip install -e .)"
    started = time.monotonic()
    result = subprocess.run([script, "demo"], capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "33 cases, 33 passed" in result.stdout
    assert "OK: finished" in result.stdout
    assert elapsed < 10, f"cognito-authz demo took {elapsed:.1f} s"


# --- lint -------------------------------------------------------------------------------------------


def test_lint_says_the_design_example_is_cache_safe(cli: Run) -> None:
    status, out, _ = cli("lint", "--require-cache-safe", str(DESIGN_POLICY))
    assert status == 0
    assert out.startswith(f"{DESIGN_POLICY}: 4 rules, 0 errors, 0 warnings\nroute table: 11 routes\n")
    assert "cache-safe: yes. Every principal gets an exact principal-wide document" in out


def test_lint_reports_cache_safety_and_advice(cli: Run) -> None:
    status, out, _ = cli("lint", str(TENANT_ROOT_POLICY))
    assert status == 0
    assert out.startswith(f"{TENANT_ROOT_POLICY}: 4 rules, 0 errors, 0 warnings\n")
    assert "cache-safe: no (blocking rules: tenant-guard" in out
    assert "advice: " in out
    assert "REQUEST authorizer" in out


def test_lint_require_cache_safe(cli: Run, orders_files: tuple[Path, Path]) -> None:
    status, _, _ = cli("lint", "--require-cache-safe", str(TENANT_ROOT_POLICY))
    assert status == 1
    status, out, _ = cli("lint", "--require-cache-safe", str(orders_files[0]))
    assert status == 0
    assert "cache-safe: yes." in out


def test_lint_quick_checks_rule_shapes_only(cli: Run) -> None:
    status, out, _ = cli("lint", "--quick", str(DEMO_POLICY))
    assert status == 0
    assert "cache-safe (rule shapes only, --quick): no (blocking rules: tenant-isolation)" in out
    status, out, _ = cli("lint", "--quick", "--json", str(DEMO_POLICY))
    report = json.loads(out)
    assert report["cache_safety_depth"] == "shapes"
    assert report["cache_safety"]["blocking_rules"] == ["tenant-isolation"]


def test_lint_errors_fail(cli: Run, tmp_path: Path) -> None:
    policy = dict(
        ORDERS_POLICY,
        rules=[
            *ORDERS_POLICY["rules"],
            {"id": "typo", "routes": ["GET /reports"], "when": {"groups": ["admni"]}},
        ],
    )
    path = write(tmp_path / "typo.yaml", policy)
    status, out, _ = cli("lint", str(path))
    assert status == 1
    assert "1 error" in out.splitlines()[0]
    assert "error [unknown_group] rule 'typo':" in out
    status, out, _ = cli("lint", "--json", str(path))
    assert status == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["errors"] == 1
    assert report["findings"][0] == {
        "severity": "error",
        "code": "unknown_group",
        "rule_id": "typo",
        "message": "when names group 'admni', which is not in the declared groups",
    }
    assert report["cache_safety"]["safe"] in (True, False)


def test_lint_warnings_pass_unless_strict(cli: Run, tmp_path: Path) -> None:
    policy = dict(
        ORDERS_POLICY, rules=[*ORDERS_POLICY["rules"], {"id": "open", "routes": ["GET /docs/{proxy+}"]}]
    )
    path = write(tmp_path / "open.json", policy)
    status, out, _ = cli("lint", "--skip-cache-safety", str(path))
    assert status == 0
    assert "warning [unconditional_allow] rule 'open':" in out
    assert "cache-safe: not checked (--skip-cache-safety)" in out
    status, _, _ = cli("lint", "--skip-cache-safety", "--strict", str(path))
    assert status == 1


def test_lint_policy_that_does_not_load(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("version: 1\nrules:\n  - {id: a, routes: ['GET /a']}\n  - {id: a, routes: ['GET /b']}\n")
    status, out, err = cli("lint", str(path))
    assert status == 1
    assert err == ""
    assert "error [duplicate_rule_id]" in out
    assert "cache-safe: not checked (the policy does not load)" in out
    status, out, _ = cli("lint", "--json", str(tmp_path / "missing.yaml"))
    assert status == 1
    assert json.loads(out)["findings"][0]["code"] == "policy_unreadable"


def test_lint_demo_policy_findings(cli: Run) -> None:
    status, out, _ = cli("lint", "--skip-cache-safety", "--json", str(DEMO_POLICY))
    assert status == 0
    report = json.loads(out)
    assert report["rules"] == 10
    assert report["errors"] == 0


# --- explain ----------------------------------------------------------------------------------------


def test_explain_with_claims(cli: Run, alice_claims: Path) -> None:
    status, out, _ = cli(
        "explain", str(DEMO_POLICY), "--claims", str(alice_claims), "GET", "/tenants/globex/projects"
    )
    assert status == 0
    assert "principal: sub=alice groups=[member] scopes=[projects/read] custom:tenant_id=acme" in out
    assert "signature NOT verified" in out
    assert "decision: DENY (explicit_deny)" in out
    assert "deny rule tenant-isolation: applies" in out


def test_explain_json(cli: Run, alice_claims: Path) -> None:
    status, out, _ = cli(
        "explain",
        "--json",
        str(DEMO_POLICY),
        "--claims",
        str(alice_claims),
        "GET",
        "/tenants/acme/projects/p1",
    )
    assert status == 0
    result = json.loads(out)
    assert result["allowed"] is True
    assert result["decision"] == "allow"
    assert result["rules"] == ["tenant-read"]
    assert result["route"] == "GET /tenants/{tenantId}/projects/{projectId}"
    assert result["path_params"] == {"tenantId": "acme", "projectId": "p1"}
    assert result["verified"] is False
    assert result["principal"]["groups"] == ["member"]
    assert "allow rule tenant-read: applies" in result["explanation"]


def test_explain_websocket_route_and_yaml_claims(cli: Run, tmp_path: Path) -> None:
    claims = write(tmp_path / "carol.yaml", {"sub": "carol", "cognito:groups": ["contractor"]})
    status, out, _ = cli("explain", "--json", str(DEMO_POLICY), "--claims", str(claims), "GET", "$connect")
    assert status == 0
    result = json.loads(out)
    assert result["allowed"]
    assert result["rules"] == ["realtime-connect"]
    assert result["method"] == ""


def test_explain_claims_from_stdin(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        sys, "stdin", io.StringIO(json.dumps({"sub": "x", "cognito:groups": ["platform-admin"]}))
    )
    status, out, _ = cli(
        "explain", "--json", str(DEMO_POLICY), "--claims", "-", "DELETE", "/tenants/a/projects/b"
    )
    assert status == 0
    assert json.loads(out)["rules"] == ["platform-admin"]


def test_explain_verifies_a_token_against_a_jwks_file(cli: Run, issuer: LocalIssuer, tmp_path: Path) -> None:
    jwks = write(tmp_path / "jwks.json", issuer.jwks)
    token = issuer.mint_access_token(username="op", groups=["platform-admin"])
    status, out, _ = cli(
        "explain",
        "--json",
        str(DEMO_POLICY),
        "--token",
        token,
        "--jwks",
        str(jwks),
        "--client-id",
        issuer.client_id,
        "GET",
        "/tenants/acme/billing",
    )
    assert status == 0
    result = json.loads(out)
    assert result["verified"] is True
    assert result["allowed"] is True
    assert result["principal"]["username"] == "op"


def test_explain_verifies_a_token_against_a_jwks_url(cli: Run, issuer: LocalIssuer) -> None:
    token = issuer.mint_access_token(
        groups=["member"], scopes=["projects/read"], claims={"custom:tenant_id": "acme"}
    )
    status, out, _ = cli(
        "explain",
        str(DEMO_POLICY),
        "--token",
        token,
        "--jwks",
        issuer.jwks_uri,
        "--pool",
        issuer.user_pool_id,
        "--client-id",
        issuer.client_id,
        "GET",
        "/tenants/acme/projects",
    )
    assert status == 0
    assert f"[token verified against {issuer.jwks_uri}]" in out
    assert "signature NOT verified" not in out
    assert "decision: ALLOW (allowed)" in out


def test_explain_unverified_token(cli: Run, issuer: LocalIssuer) -> None:
    token = issuer.mint_id_token(groups=["platform-admin"])
    status, out, _ = cli("explain", "--json", str(DEMO_POLICY), "--token", token, "GET", "/health")
    assert status == 0
    result = json.loads(out)
    assert result["verified"] is False
    assert result["principal_source"] == "token (unverified)"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--client-id", "someone-else"), "token rejected: "),
        (("--any-client", "--token-use", "id"), "[wrong_token_use]"),
        ((), "--jwks needs --client-id ID (repeatable) or an explicit --any-client"),
    ],
)
def test_explain_rejected_tokens_are_one_line(
    cli: Run, issuer: LocalIssuer, tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    jwks = write(tmp_path / "jwks.json", issuer.jwks)
    token = issuer.mint_access_token()
    status, out, err = cli(
        "explain", str(DEMO_POLICY), "--token", token, "--jwks", str(jwks), *extra, "GET", "/health"
    )
    assert status == 1
    assert out == ""
    assert message in one_error_line(err)


def test_explain_expired_token(cli: Run, issuer: LocalIssuer, tmp_path: Path) -> None:
    jwks = write(tmp_path / "jwks.json", issuer.jwks)
    token = issuer.mint_access_token(now=time.time() - 7200, lifetime=3600)
    status, _, err = cli(
        "explain", str(DEMO_POLICY), "--token", token, "--jwks", str(jwks), "--any-client", "GET", "/health"
    )
    assert status == 1
    assert one_error_line(err).endswith("token rejected: token has expired [token_expired]")


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda t: ["--token", "not-a-jwt"], "[bad_segments]"),
        (
            lambda t: ["--token", "x.y.z", "--jwks", "http://203.0.113.9/jwks.json", "--any-client"],
            "refusing plain http",
        ),
        (lambda t: ["--claims", str(t / "nope.json")], "cannot read claims file"),
        (lambda t: ["--claims", str(t / "list.json")], "must hold a JSON object"),
        (lambda t: ["--claims", str(t / "broken.json")], "is not JSON (line 1"),
        (lambda t: ["--claims", str(t / "list.json"), "--jwks", "j.json"], "--jwks verifies a --token"),
    ],
)
def test_explain_input_errors_are_one_line(
    cli: Run, tmp_path: Path, make_args: Callable[[Path], list[str]], message: str
) -> None:
    write(tmp_path / "list.json", ["sub"])
    (tmp_path / "broken.json").write_text("{nope")
    status, _, err = cli("explain", str(DEMO_POLICY), *make_args(tmp_path), "GET", "/health")
    assert status == 1
    assert message in one_error_line(err)


def test_explain_broken_policy_names_the_file(cli: Run, tmp_path: Path, alice_claims: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\nrules:\n  - {id: r, routes: ['GET /a/{ id}']}\n")
    status, _, err = cli("explain", str(path), "--claims", str(alice_claims), "GET", "/a/b")
    assert status == 1
    line = one_error_line(err)
    assert f"file {path}" in line
    assert "rule 'r'" in line


# --- test -------------------------------------------------------------------------------------------


def test_test_runs_the_demo_table(cli: Run) -> None:
    status, out, _ = cli("test", str(DEMO_POLICY), str(DEMO_CASES))
    assert status == 0
    assert out == f"{DEMO_CASES}: 33 cases, 33 passed\n"
    status, out, _ = cli("test", "-v", str(DEMO_POLICY), str(DEMO_CASES))
    assert out.count("\nPASS ") + out.startswith("PASS ") == 33


def test_test_failing_case(cli: Run, tmp_path: Path, orders_files: tuple[Path, Path]) -> None:
    policy, _ = orders_files
    cases = copy.deepcopy(ORDERS_CASES)
    cases["cases"][1]["expect"] = "deny"
    table = write(tmp_path / "failing.json", cases)
    status, out, _ = cli("test", str(policy), str(table))
    assert status == 1
    assert "FAIL #1 GET /orders/7: allow (allowed by read-orders); expected deny, got allow" in out
    assert out.endswith("4 cases, 3 passed, 1 failed\n")
    status, out, _ = cli("test", "--json", str(policy), str(table))
    assert status == 1
    report = json.loads(out)
    assert (report["total"], report["failed"], report["passed"]) == (4, 1, False)
    assert report["results"][1]["problems"] == ["expected deny, got allow"]


def test_test_invalid_table(cli: Run, tmp_path: Path, orders_files: tuple[Path, Path]) -> None:
    table = write(
        tmp_path / "bad.json", {"cases": [{"principal": {"sub": "x"}, "path": "/a", "expect": "maybe"}]}
    )
    status, _, err = cli("test", str(orders_files[0]), str(table))
    assert status == 1
    assert "[invalid_decision_table]" in one_error_line(err)


# --- iam --------------------------------------------------------------------------------------------


def test_iam_principal_wide_document(cli: Run, tmp_path: Path, orders_files: tuple[Path, Path]) -> None:
    claims = write(tmp_path / "bo.json", {"sub": "bo", "scope": "orders/read"})
    status, out, _ = cli("iam", "--json", str(orders_files[0]), "--claims", str(claims), "--method-arn", ARN)
    assert status == 0
    result = json.loads(out)
    assert result["scope"] == "principal"
    document = result["document"]
    assert result["size"] == document_size(document) <= result["max_bytes"] == 8192
    assert result["decision"]["allowed"] is True
    assert result["allows_method_arn"] is True
    # Principal-wide: other routes of the policy are answered too, exactly as decide answers them.
    base = ARN.rsplit("/GET/", 1)[0]
    assert iam_allows(document, f"{base}/GET/orders")
    assert iam_allows(document, f"{base}/GET/users/bo")
    assert not iam_allows(document, f"{base}/GET/users/someone-else")
    assert not iam_allows(document, f"{base}/POST/orders")


def test_iam_text_output(cli: Run, tmp_path: Path, orders_files: tuple[Path, Path]) -> None:
    claims = write(tmp_path / "bo.json", {"sub": "bo", "scope": "orders/read"})
    status, out, _ = cli("iam", str(orders_files[0]), "--claims", str(claims), "--method-arn", ARN)
    assert status == 0
    assert "request GET /orders/42: allow (allowed by read-orders)" in out
    assert "scope: principal (exact for every routable request: safe to cache per token)" in out
    assert re.search(r"^size: \d+ bytes \(principal-wide limit 8192\)$", out, re.MULTILINE)
    document = json.loads(out[out.index("{") :])
    assert document["Version"] == "2012-10-17"


def test_iam_inexpressible_gives_the_exact_part_and_the_current_request(cli: Run, tmp_path: Path) -> None:
    # The design example behind a route for each tenant itself: an admin of tenant acme may read every
    # tenant but enter only acme's subtree ("any tenant but acme"), which IAM globs cannot say: the
    # largest exact part plus this request.
    claims = write(
        tmp_path / "admin.json", {"sub": "ada", "cognito:groups": ["admin"], "custom:tenant_id": "acme"}
    )
    status, out, _ = cli(
        "iam", "--json", str(TENANT_ROOT_POLICY), "--claims", str(claims), "--method-arn", ARN
    )
    assert status == 0
    result = json.loads(out)
    assert result["scope"] == "principal"
    assert result["reason"] == "inexact"
    assert iam_allows(result["document"], ARN)
    assert iam_allows(result["document"], ARN.replace("/GET/orders/42", "/GET/orders/43"))
    assert not iam_allows(result["document"], ARN.replace("/GET/orders/42", "/GET/tenants/globex/x"))


def test_iam_size_limit_and_request_scope(cli: Run, tmp_path: Path, orders_files: tuple[Path, Path]) -> None:
    claims = write(tmp_path / "bo.json", {"sub": "bo", "scope": "orders/read"})
    status, out, _ = cli(
        "iam",
        "--json",
        str(orders_files[0]),
        "--claims",
        str(claims),
        "--method-arn",
        ARN,
        "--max-bytes",
        "100",
    )
    assert status == 0
    assert json.loads(out)["reason"] == "too_large"
    status, out, _ = cli(
        "iam",
        "--json",
        str(orders_files[0]),
        "--claims",
        str(claims),
        "--method-arn",
        ARN,
        "--scope",
        "request",
    )
    result = json.loads(out)
    assert result["scope"] == "request"
    assert [s["Resource"] for s in result["document"]["Statement"]] == [[ARN]]


@pytest.mark.parametrize(
    ("arn", "extra", "message"),
    [
        ("arn:aws:s3:::bucket", (), "[invalid_method_arn]"),
        (ARN, ("--max-bytes", "0"), "--max-bytes must be a positive number"),
    ],
)
def test_iam_errors(
    cli: Run,
    alice_claims: Path,
    orders_files: tuple[Path, Path],
    arn: str,
    extra: tuple[str, ...],
    message: str,
) -> None:
    status, _, err = cli(
        "iam", str(orders_files[0]), "--claims", str(alice_claims), "--method-arn", arn, *extra
    )
    assert status == 1
    assert message in one_error_line(err)


# --- mint -------------------------------------------------------------------------------------------


def _verifier_for(
    jwks: dict[str, Any], token_use: Any = "access", pool: str = DEFAULT_POOL_ID
) -> CognitoVerifier:
    verifier = CognitoVerifier(pool, client_id=DEFAULT_CLIENT_ID, token_use=token_use, offline=True)
    verifier.load_jwks(jwks)
    return verifier


def test_mint_with_a_new_key_prints_token_and_jwks(cli: Run) -> None:
    status, out, err = cli(
        "mint",
        "--username",
        "alice",
        "--group",
        "member",
        "--group",
        "beta",
        "--scope",
        "projects/read",
        "--claim",
        "custom:tenant_id=007",
    )
    assert status == 0
    token, jwks_line = out.splitlines()
    principal = _verifier_for(json.loads(jwks_line)).verify(token)
    assert principal.username == "alice"
    assert principal.groups == ("member", "beta")
    assert principal.scopes == ("projects/read",)
    assert principal.claims["custom:tenant_id"] == "007"  # custom attributes stay strings
    assert "signed with a new key" in err
    assert "--key-out" in err


def test_mint_saves_and_reuses_a_key(cli: Run, tmp_path: Path) -> None:
    key, jwks = tmp_path / "dev.pem", tmp_path / "jwks.json"
    status, out, _ = cli("mint", "--key-out", str(key), "--jwks-out", str(jwks), "--sub", "s-1")
    assert status == 0
    assert len(out.splitlines()) == 1  # the JWKS went to the file
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    verifier = _verifier_for(json.loads(jwks.read_text()))
    assert verifier.verify(out.strip()).sub == "s-1"
    status, out, err = cli("mint", "--key", str(key), "--username", "again")
    assert status == 0
    assert err == ""
    assert verifier.verify(out.strip()).username == "again"  # same key, same JWKS


def test_mint_id_token_json(cli: Run) -> None:
    status, out, _ = cli(
        "mint",
        "--json",
        "--token-use",
        "id",
        "--pool",
        "eu-west-1_AbCdEf123",
        "--claim",
        "custom:tenant_id=acme",
        "--claim-json",
        "custom:seats=5",
    )
    assert status == 0
    result = json.loads(out)
    assert result["claims"]["token_use"] == "id"
    assert result["claims"]["iss"] == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    assert result["claims"]["custom:seats"] == 5
    assert result["header"] == {"kid": result["kid"], "alg": "RS256"}
    principal = _verifier_for(result["jwks"], token_use="id", pool="eu-west-1_AbCdEf123").verify(
        result["token"]
    )
    assert principal.claims["custom:tenant_id"] == "acme"


def test_mint_expired_token(cli: Run) -> None:
    _status, out, _ = cli("mint", "--json", "--lifetime", "-60")
    result = json.loads(out)
    with pytest.raises(ExpiredTokenError):
        _verifier_for(result["jwks"]).verify(result["token"])


def _pem(key: Any, password: bytes | None = None) -> bytes:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))


@pytest.mark.parametrize(
    ("setup", "argv", "message"),
    [
        (None, ("--scope", "a", "--token-use", "id"), "ID tokens carry no scope claim"),
        (None, ("--claim", "novalue"), "--claim expects NAME=VALUE"),
        (None, ("--claim-json", "n=[oops"), "is not JSON"),
        (None, ("--pool", "not-a-pool"), "is not a user pool id"),
        ("missing", ("--key", "{dir}/missing.pem"), "cannot read key"),
        ("garbage", ("--key", "{dir}/key.pem"), "is not a PEM private key"),
        ("ec", ("--key", "{dir}/key.pem"), "is not an RSA key"),
        ("encrypted", ("--key", "{dir}/key.pem"), "is encrypted"),
        ("rsa", ("--key", "{dir}/key.pem", "--key-out", "{dir}/out.pem"), "--key-out saves a generated key"),
    ],
)
def test_mint_errors_are_one_line(
    cli: Run, tmp_path: Path, setup: str | None, argv: tuple[str, ...], message: str
) -> None:
    key = tmp_path / "key.pem"
    rsa_key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if setup in ("rsa", "encrypted")
        else None
    )
    if setup == "garbage":
        key.write_text("hello")
    elif setup == "ec":
        key.write_bytes(_pem(ec.generate_private_key(ec.SECP256R1())))
    elif setup == "encrypted":
        key.write_bytes(_pem(rsa_key, b"secret"))
    elif setup == "rsa":
        key.write_bytes(_pem(rsa_key))
    status, out, err = cli("mint", *(arg.format(dir=tmp_path) for arg in argv))
    assert status == 1
    assert out == ""
    assert message in one_error_line(err)


# --- jwks serve -------------------------------------------------------------------------------------


@contextmanager
def serving(*argv: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m cognito_authz.cli jwks serve ARGV`` and the URL it prints first."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cognito_authz.cli", "jwks", "serve", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.fullmatch(r"serving JWKS at (http://127\.0\.0\.1:\d+/\S+)\n", first)
        assert match, first + (process.stderr.read() if process.stderr else "")
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        body = error.read()
        error.close()
        return error.code, body


def test_jwks_serve_a_jwks_file_once(issuer: LocalIssuer, tmp_path: Path) -> None:
    jwks = write(tmp_path / "jwks.json", issuer.jwks)
    with serving("--keys", str(jwks), "--once") as (process, url):
        assert url.endswith(f"/{DEFAULT_POOL_ID}/.well-known/jwks.json")
        status, body = fetch(url)
        assert status == 200
        assert json.loads(body) == issuer.jwks
        _out, err = process.communicate(timeout=30)
        assert process.returncode == 0
        assert "stopped after 1 request(s)" in err
        assert "Traceback" not in err


def test_jwks_serve_a_pem_key_to_a_verifier(cli: Run, tmp_path: Path) -> None:
    key = tmp_path / "dev.pem"
    assert cli("mint", "--key-out", str(key))[0] == 0
    _status, token, _ = cli("mint", "--key", str(key), "--pool", "eu-west-1_Dev", "--group", "admin")
    with serving("--keys", str(key), "--pool", "eu-west-1_Dev", "--duration", "20") as (process, url):
        # A real verifier, fetching over loopback exactly as it would fetch from Cognito.
        verifier = CognitoVerifier(
            "eu-west-1_Dev", client_id=DEFAULT_CLIENT_ID, token_use="access", jwks_uri=url, allow_http=True
        )
        assert verifier.verify(token.strip()).groups == ("admin",)
        assert fetch(url.replace("/eu-west-1_Dev/.well-known", "/.well-known"))[0] == 200
        assert fetch(url.rsplit("/", 1)[0] + "/other.json")[0] == 404
        process.send_signal(signal.SIGINT)  # "until interrupted": Ctrl-C is a clean stop
        _, err = process.communicate(timeout=30)
        assert process.returncode == 0
        assert "Traceback" not in err
        assert "stopped after" in err


def test_jwks_serve_a_new_key_prints_a_sample_token() -> None:
    with serving("--duration", "20") as (process, url):
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        sample = next(line for line in lines if line.startswith("sample access token"))
        token = sample.rsplit(" ", 1)[1].strip()
        verifier = CognitoVerifier(
            DEFAULT_POOL_ID, client_id=DEFAULT_CLIENT_ID, token_use="access", jwks_uri=url, allow_http=True
        )
        assert verifier.verify(token).username == "testuser"
        process.terminate()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--keys", "{dir}/bad.json"), "[jwks_invalid]"),
        (("--keys", "{dir}/missing.json"), "cannot read keys"),
        (("--port", "70000"), "--port must be between 0 and 65535"),
        (("--duration", "0"), "--duration must be a positive number"),
        (("--pool", "nope"), "is not a user pool id"),
        (("--keys", "{dir}/bad.json", "--key-out", "{dir}/k.pem"), "--key-out saves a generated key"),
    ],
)
def test_jwks_serve_errors_are_one_line(
    cli: Run, tmp_path: Path, argv: tuple[str, ...], message: str
) -> None:
    (tmp_path / "bad.json").write_text('{"keys": "none"}')
    status, out, err = cli("jwks", "serve", *(arg.format(dir=tmp_path) for arg in argv))
    assert status == 1
    assert out == ""
    assert message in one_error_line(err)


def test_jwks_serve_port_in_use(cli: Run, tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        jwks = write(tmp_path / "jwks.json", LocalIssuer(serve=False).jwks)
        status, _, err = cli("jwks", "serve", "--keys", str(jwks), "--port", str(port))
    assert status == 1
    assert f"cannot listen on 127.0.0.1:{port}" in one_error_line(err)
