"""Route-table lint (``lint --api FILE`` and the Python API) and ``cognito-authz api import``."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cognito_authz import Policy
from cognito_authz.cli import main
from cognito_authz.policy.api_import import import_routes
from cognito_authz.policy.api_table import ApiTable
from cognito_authz.policy.lint import lint_data, lint_file, lint_policy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEMPLATE = EXAMPLES / "authorizer" / "template.yaml"
SERVERLESS = EXAMPLES / "authorizer" / "serverless.yml"
ORDERS_POLICY = EXAMPLES / "authorizer" / "policy.yaml"
SOURCES = Path(__file__).parent / "api_sources"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str) -> tuple[int, str, str]:
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return run


def codes(findings: list[Any]) -> list[str]:
    return [finding.code for finding in findings]


BASE: dict[str, Any] = {
    "version": 1,
    "rules": [
        {"id": "read", "routes": ["GET /orders", "GET /orders/{orderId}"], "when": {"groups": ["a"]}},
        {"id": "typo", "routes": ["GET /ordres"], "when": {"groups": ["a"]}},
    ],
}


def test_table_findings_without_a_deployment() -> None:
    findings = lint_data({**BASE, "api": ["GET /orders", "GET /orders/{orderId}", "POST /orders"]})
    by_code = {finding.code: finding for finding in findings}
    assert "POST /orders" in by_code["api_route_not_allowed"].message
    assert by_code["rule_route_not_in_api"].rule_id == "typo"
    assert "GET /ordres" in by_code["rule_route_not_in_api"].message
    assert "api_table_stale" not in by_code


def test_no_table_no_table_findings() -> None:
    assert not {"api_route_not_allowed", "rule_route_not_in_api"} & set(codes(lint_data(BASE)))


def test_greedy_rule_routes_cover_every_api_route() -> None:
    data = {
        "version": 1,
        "rules": [{"id": "admin", "routes": ["ANY /{proxy+}"], "when": {"groups": ["admin"]}}],
        "api": ["GET /a", "POST /b/{id}", "ANY /c/{rest+}"],
    }
    assert not {"api_route_not_allowed", "rule_route_not_in_api"} & set(codes(lint_data(data)))


def test_dead_allow_rules_allow_nothing() -> None:
    data = {
        "version": 1,
        "rules": [
            {"id": "never", "routes": ["GET /a"], "when": {"groups": ["x"]}, "unless": {"groups": ["x"]}}
        ],
        "api": ["GET /a"],
    }
    assert "api_route_not_allowed" in codes(lint_data(data))


def test_stale_table_against_the_deployment() -> None:
    deployed = import_routes(TEMPLATE)
    data = {**BASE, "api": ["GET /orders", "GET /orders/{orderId}", "DELETE /orders/{orderId}"]}
    stale = [f for f in lint_data(data, deployed=deployed) if f.code == "api_table_stale"]
    assert len(stale) == 1
    assert stale[0].severity == "error"
    assert "DELETE /orders/{orderId}" in stale[0].message  # in the table, not deployed
    assert "POST /orders/{orderId}/refund" in stale[0].message  # deployed, not in the table


def test_deployment_without_a_table_in_the_policy() -> None:
    findings = lint_data(BASE, deployed=import_routes(TEMPLATE))
    assert "api_table_missing" in codes(findings)
    # the deployment's table is used for the route findings
    assert "rule_route_not_in_api" in codes(findings)


def test_lint_policy_and_lint_file_take_the_deployment(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**BASE, "api": list(import_routes(TEMPLATE).texts)}))
    deployed = import_routes(SERVERLESS)
    assert "api_table_stale" not in codes(lint_file(path, deployed=deployed))
    assert codes(lint_policy(Policy.from_file(path), deployed=deployed)) == codes(
        lint_file(path, deployed=deployed)
    )
    other = ApiTable.parse(["GET /orders"], source="other.yaml")
    assert "api_table_stale" in codes(lint_file(path, deployed=other))


# --- the CLI --------------------------------------------------------------------------------------------


def test_api_import_prints_a_section_that_loads(cli: Run, tmp_path: Path) -> None:
    status, out, err = cli("api", "import", str(TEMPLATE))
    assert status == 0, err
    assert out.startswith("api:")
    policy = tmp_path / "p.yaml"
    policy.write_text(ORDERS_POLICY.read_text() + "\n" + out)
    loaded = Policy.from_file(policy)
    assert loaded.api is not None
    assert loaded.api.texts == import_routes(TEMPLATE).texts


def test_api_import_json(cli: Run) -> None:
    status, out, _ = cli("api", "import", str(SOURCES / "openapi_http.yaml"), "--json")
    assert status == 0
    assert json.loads(out)["routes"] == ["GET /files", "GET /files/{path+}", "ANY /", "ANY /{proxy+}"]


def test_api_import_several_apis_needs_api_id(cli: Run) -> None:
    status, _, err = cli("api", "import", str(SOURCES / "sam_two_apis.yaml"))
    assert status == 1
    assert "several APIs" in err
    assert "--api-id" in err
    assert err.count("\n") == 1  # one line, no traceback
    status, out, _ = cli("api", "import", str(SOURCES / "sam_two_apis.yaml"), "--api-id", "ReportsApi")
    assert status == 0
    assert '"GET /reports/{day}"' in out


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".toml"])
def test_api_import_into_each_policy_format(cli: Run, tmp_path: Path, suffix: str) -> None:
    policy = tmp_path / f"policy{suffix}"
    if suffix == ".yaml":
        policy.write_text("# keep this comment\n" + ORDERS_POLICY.read_text())
    elif suffix == ".json":
        policy.write_text(json.dumps(BASE, indent=2))
    else:
        policy.write_text('version = 1\n\n[[rules]]\nid = "read"\nroutes = ["GET /orders"]\n')
    os.chmod(policy, 0o640)
    for _ in range(2):  # writing twice replaces the table instead of adding a second one
        status, out, err = cli("api", "import", str(TEMPLATE), "--into", str(policy))
        assert status == 0, err
        assert "wrote 'api:' with 8 route(s)" in out
        loaded = Policy.from_file(policy)
        assert loaded.api is not None
        assert loaded.api.texts == import_routes(TEMPLATE).texts
    assert stat.S_IMODE(policy.stat().st_mode) == 0o640
    if suffix == ".yaml":
        text = policy.read_text()
        assert text.startswith("# keep this comment\n")
        assert text.count("\napi:") == 1
        assert "id: own-profile" in text


def test_api_import_into_replaces_a_yaml_table_in_the_middle(cli: Run, tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "version: 1\napi:\n  - GET /old\n  - GET /older\n\n"
        "# the rules\nrules:\n  - id: r\n    routes: [GET /orders]\n"
    )
    status, _, err = cli("api", "import", str(SERVERLESS), "--into", str(policy))
    assert status == 0, err
    text = policy.read_text()
    assert "GET /old" not in text
    assert "# the rules\nrules:" in text
    loaded = Policy.from_file(policy)
    assert loaded.api is not None
    assert len(loaded.api) == 8


def test_api_import_into_never_writes_a_policy_that_would_not_load(cli: Run, tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    broken = "version: 1\nrules: [\n"
    policy.write_text(broken)
    status, _, err = cli("api", "import", str(TEMPLATE), "--into", str(policy))
    assert status == 1
    assert "not written" in err
    assert policy.read_text() == broken


def test_lint_api_reports_a_stale_table(cli: Run, tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(ORDERS_POLICY.read_text() + "\napi: ['GET /health', 'GET /orders']\n")
    status, out, _ = cli("lint", str(policy), "--api", str(TEMPLATE), "--skip-cache-safety")
    assert status == 1
    assert "error [api_table_stale]" in out
    cli("api", "import", str(TEMPLATE), "--into", str(policy))
    status, out, _ = cli("lint", str(policy), "--api", str(TEMPLATE), "--skip-cache-safety")
    assert status == 0, out
    assert "route table: 8 routes, the same as the deployment" in out


def test_lint_api_json(cli: Run) -> None:
    status, out, _ = cli("lint", str(ORDERS_POLICY), "--api", str(TEMPLATE), "--skip-cache-safety", "--json")
    report = json.loads(out)
    assert status == 0
    assert report["deployment"] == str(TEMPLATE)
    assert [f["code"] for f in report["findings"]] == ["api_table_missing"]


def test_lint_api_unreadable_deployment_is_one_line(cli: Run, tmp_path: Path) -> None:
    status, _, err = cli("lint", str(ORDERS_POLICY), "--api", str(tmp_path / "absent.yaml"))
    assert status == 1
    assert err.startswith("cognito-authz: error:")
    assert err.count("\n") == 1


def test_the_cli_page_shows_what_api_import_prints(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    root = EXAMPLES.parent
    page = (root / "docs" / "cli.md").read_text(encoding="utf-8")
    command = "$ cognito-authz api import examples/authorizer/template.yaml\n"
    start = page.index(command) + len(command)
    shown = page[start : page.index("```", start)]
    monkeypatch.chdir(root)
    status, out, _ = cli("api", "import", "examples/authorizer/template.yaml")
    assert status == 0
    assert out == shown


def test_lint_api_id_without_api_is_a_usage_error(cli: Run) -> None:
    status, _, err = cli("lint", str(ORDERS_POLICY), "--api-id", "OrdersApi")
    assert status == 2
    assert "--api-id" in err
