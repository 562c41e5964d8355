"""The permission matrix: every cell is what ``decide`` answers for the concrete request the cell names,
in every format; ``--diff`` shows exactly the cells a policy change flips; the HTML page renders in
headless Chromium with the same cells."""

from __future__ import annotations

import csv
import io
import json
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_authz.cli import main
from cognito_authz.errors import PolicyError
from cognito_authz.matrix import (
    REPRESENTATIVE,
    Persona,
    build_matrix,
    diff_matrices,
    personas_from_claims,
    personas_from_table,
)
from cognito_authz.matrix_render import render_matrix
from cognito_authz.policy import Policy
from cognito_authz.principal import Principal
from tests.support.tools import debian_program

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "policies"
DEMO = EXAMPLES / "demo.yaml"
DEMO_CASES = EXAMPLES / "demo.cases.yaml"
DESIGN = EXAMPLES / "design_example.yaml"
DESIGN_CASES = EXAMPLES / "design_example.cases.yaml"
VERBS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")


def expected_status(policy: Policy, principal: Principal, request: str) -> str:
    """The cell a request should show, worked out from ``decide`` alone (ANY: all seven verbs)."""
    if request.startswith("$"):
        return "allow" if policy.decide(principal, "", request).allowed else "deny"
    verb, path = request.split(" ", 1)
    verbs = VERBS if verb == "ANY" else (verb,)
    answers = {policy.decide(principal, each, path).allowed for each in verbs}
    return "mixed" if len(answers) == 2 else ("allow" if answers == {True} else "deny")


# --- personas and concrete requests ------------------------------------------------------------------


def test_personas_from_a_table_are_its_distinct_principals_named_by_sub() -> None:
    personas = personas_from_table(str(DEMO_CASES))
    names = [persona.name for persona in personas]
    assert names[:3] == ["op-1", "op-2", "alice"]
    assert len(set(names)) == len(names)
    design = [persona.name for persona in personas_from_table(str(DESIGN_CASES))]
    assert "admin-1#2" in design  # the same sub with other claims is another persona


def test_parameters_take_the_personas_bound_claim_else_a_representative_value() -> None:
    policy = Policy.from_file(DEMO)
    alice, nobody = personas_from_claims(
        [
            (
                "alice",
                {
                    "sub": "alice",
                    "groups": ["member"],
                    "scopes": ["projects/read"],
                    "custom:tenant_id": "acme",
                },
            ),
            ("nobody", {"sub": "n-1"}),
        ]
    )
    matrix = build_matrix(policy, [alice, nobody])
    cell = matrix.cell("alice", "GET /tenants/{tenantId}/projects")
    assert cell.request == "GET /tenants/acme/projects"
    assert cell.status == "allow"
    assert cell.rules == ("tenant-read",)
    assert (
        matrix.cell("nobody", "GET /tenants/{tenantId}/projects").request
        == f"GET /tenants/{REPRESENTATIVE}/projects"
    )
    assert matrix.cell("nobody", "GET /users/{userId}").request == "GET /users/n-1"  # own-profile binds sub
    assert matrix.cell("nobody", "GET /users/{userId}").status == "allow"
    # projectId is bound by no rule alice satisfies with a claim she has: the representative value
    assert matrix.cell("alice", "GET /tenants/{tenantId}/projects/{projectId}").request == (
        f"GET /tenants/acme/projects/{REPRESENTATIVE}"
    )


def test_an_any_column_is_decided_for_every_verb_and_says_which_are_allowed() -> None:
    policy = Policy.from_file(DEMO)
    (rita,) = personas_from_claims(
        [
            (
                "rita",
                {
                    "sub": "rita",
                    "groups": ["member"],
                    "scopes": ["projects/read"],
                    "custom:tenant_id": "acme",
                },
            )
        ]
    )
    cell = build_matrix(policy, [rita]).cell("rita", "ANY /tenants/{tenantId}/projects/{projectId}/{proxy+}")
    assert len(cell.decisions) == 7
    assert cell.status == "mixed"
    assert cell.allowed_verbs == ("GET",)
    assert "GET" in cell.summary()


@pytest.mark.parametrize(("policy_file", "cases"), [(DEMO, DEMO_CASES), (DESIGN, DESIGN_CASES)])
def test_every_cell_of_every_format_is_what_decide_answers(policy_file: Path, cases: Path) -> None:
    policy = Policy.from_file(policy_file)
    personas = personas_from_table(str(cases))
    by_name = {persona.name: persona.principal for persona in personas}
    matrix = build_matrix(policy, personas)
    assert policy.api is not None  # both examples carry their API's route table: it gives the columns
    assert matrix.from_api_table
    assert matrix.routes == policy.api.routes
    rows = list(csv.DictReader(io.StringIO(render_matrix(matrix, "csv"))))
    assert len(rows) == len(personas) * len(policy.api.routes)
    statuses = set()
    for row in rows:
        want = expected_status(policy, by_name[row["persona"]], row["request"])
        assert row["decision"] == want, row
        statuses.add(want)
    assert {"allow", "deny"} <= statuses
    text = render_matrix(matrix, "text")
    markdown = render_matrix(matrix, "markdown")
    for persona, cells in matrix.rows():
        for cell in cells:
            assert f"{persona.name} [" in text
            assert f"{cell.request}: {cell.status}" in text
            assert f"`{cell.request}`" in markdown.replace("\\|", "|")


def test_the_api_route_table_gives_the_columns() -> None:
    data: dict[str, Any] = {
        "version": 1,
        "api": ["GET /orders", "GET /orders/{id}", "ANY /{proxy+}"],
        "rules": [
            {"id": "read", "routes": ["GET /orders/{orderId}"], "when": {"claims": {"sub": "{orderId}"}}}
        ],
    }
    policy = Policy.from_dict(data)
    (owner,) = personas_from_claims([("owner", {"sub": "o-7"})])
    matrix = build_matrix(policy, [owner])
    assert matrix.from_api_table
    assert [route.text for route in matrix.routes] == ["GET /orders", "GET /orders/{id}", "ANY /{proxy+}"]
    # the API route's parameter is named id; the rule's orderId sits at the same position and binds it
    assert matrix.cell("owner", "GET /orders/{id}").request == "GET /orders/o-7"
    assert matrix.cell("owner", "GET /orders/{id}").status == "allow"
    assert matrix.cell("owner", "GET /orders").status == "deny"


def test_bad_personas_are_refused_with_a_reason_code() -> None:
    with pytest.raises(PolicyError) as raised:
        personas_from_claims([("a", {"sub": "x"}), ("a", {"sub": "y"})])
    assert raised.value.reason == "invalid_persona"
    with pytest.raises(PolicyError, match="non-empty name"):
        personas_from_claims([(" ", {"sub": "x"})])
    with pytest.raises(PolicyError, match="list of strings"):
        personas_from_claims([("g", {"groups": 5})])
    with pytest.raises(PolicyError, match="not both"):
        personas_from_claims([("g", {"groups": ["a"], "cognito:groups": ["b"]})])
    with pytest.raises(PolicyError, match="at least 1 character"):
        personas_from_claims([("g", {"": "empty claim name"})])


# --- the diff ------------------------------------------------------------------------------------------


def _one_line_change(tmp_path: Path) -> tuple[Path, Path]:
    old = tmp_path / "old.yaml"
    new = tmp_path / "new.yaml"
    text = DESIGN.read_text(encoding="utf-8")
    line = '    when: {scopes: ["orders/read"]}\n'
    assert text.count(line) == 1
    old.write_text(text, encoding="utf-8")
    new.write_text(text.replace(line, '    when: {scopes: ["orders/write"]}\n'), encoding="utf-8")
    return old, new


def _hand_expected_flips(personas: tuple[Persona, ...]) -> set[tuple[str, str]]:
    # read-orders now needs orders/write instead of orders/read: a non-admin persona's GET /orders and
    # GET /orders/{orderId} flip exactly when it holds one of the two scopes but not both.
    out = set()
    for persona in personas:
        principal = persona.principal
        if "admin" in principal.groups:
            continue
        if ("orders/read" in principal.scopes) != ("orders/write" in principal.scopes):
            out |= {(persona.name, "GET /orders"), (persona.name, "GET /orders/{orderId}")}
    return out


def test_diff_of_a_one_line_change_shows_exactly_the_flipped_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = _one_line_change(tmp_path)
    personas = personas_from_table(str(DESIGN_CASES))
    expected = _hand_expected_flips(personas)
    assert len(expected) >= 4  # both directions occur among the table's personas
    argv = ["matrix", str(new), "--cases", str(DESIGN_CASES), "--diff", str(old), "--format", "csv"]
    assert main([*argv, "--exit-code"]) == 1  # like git diff --exit-code: something changed
    capsys.readouterr()
    assert main(argv) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {(row["persona"], row["route"]) for row in rows} == expected
    assert len(rows) == len(expected)
    for row in rows:
        assert row["old"] != row["new"]
    # and every cell not listed decides alike under both policies
    old_policy, new_policy = Policy.from_file(old), Policy.from_file(new)
    matrix, flips = diff_matrices(old_policy, new_policy, personas)
    assert {(flip.persona, flip.route) for flip in flips} == expected
    for persona, cells in matrix.rows():
        for cell in cells:
            if (persona.name, cell.route) in expected:
                continue
            assert expected_status(old_policy, persona.principal, cell.request) == cell.status


def test_diff_of_identical_policies_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["matrix", str(DEMO), "--cases", str(DEMO_CASES), "--diff", str(DEMO)])
    assert status == 0
    assert capsys.readouterr().out.startswith("0 cell(s) flip")


# --- the command line ----------------------------------------------------------------------------------


def test_persona_flags_and_markdown_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    claims = tmp_path / "admin.json"
    claims.write_text(json.dumps({"sub": "a-1", "groups": ["admin"]}), encoding="utf-8")
    reader = 'reader={"sub": "r", "scopes": "orders/read"}'
    argv = ["matrix", str(DESIGN), "--persona", f"admin=@{claims}", "--persona", reader]
    argv += ["--format", "markdown"]
    status = main(argv)
    assert status == 0
    out = capsys.readouterr().out
    assert "| admin |" in out
    assert "| reader |" in out
    assert "`GET /orders`" in out


def test_matrix_without_personas_or_with_a_bad_flag_fails_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["matrix", str(DEMO)]) == 1
    assert "no personas" in capsys.readouterr().err
    assert main(["matrix", str(DEMO), "--persona", "x={not json"]) == 1
    assert "not JSON" in capsys.readouterr().err
    assert main(["matrix", str(DEMO), "--persona", "noequals"]) == 1
    assert "NAME=JSON" in capsys.readouterr().err


# --- HTML in headless Chromium -------------------------------------------------------------------------


def chromium() -> str:
    """Debian's chromium: on PATH, or installed now (tests/support/tools.py); under CI absent is a failure."""
    return debian_program("chromium", "chromium")


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


class _Cells(HTMLParser):
    """The matrix cells of a DOM as Chromium dumped it."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "td" and "data-decision" in values:
            self.cells.append(values)


def test_html_matrix_renders_in_headless_chromium_with_the_cells_decide_gives(tmp_path: Path) -> None:
    page = tmp_path / "matrix.html"
    assert main(["matrix", str(DEMO), "--cases", str(DEMO_CASES), "--format", "html", "-o", str(page)]) == 0
    result = run_chromium(tmp_path, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    parser = _Cells()
    parser.feed(result.stdout)
    policy = Policy.from_file(DEMO)
    personas = {persona.name: persona.principal for persona in personas_from_table(str(DEMO_CASES))}
    assert policy.api is not None
    assert len(parser.cells) == len(personas) * len(policy.api.routes)
    for cell in parser.cells:
        want = expected_status(policy, personas[cell["data-persona"]], cell["data-request"])
        assert cell["data-decision"] == want, cell
        assert cell["class"] == want
        assert cell["data-request"] in cell["title"]  # the hover names the concrete request
    screenshot = tmp_path / "matrix.png"
    shot = run_chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1400,700", page.as_uri())
    assert shot.returncode == 0, shot.stderr[-2000:]
    header = screenshot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1400, 700)


# --- every cell's request is a request of its route (property) -------------------------------------------

_CLAIM_VALUE = st.one_of(
    st.text(max_size=10), st.integers(), st.booleans(), st.lists(st.text(max_size=6), max_size=3)
)


@settings(max_examples=60, deadline=None)
@given(tenant=_CLAIM_VALUE, project=_CLAIM_VALUE, sub=st.text(max_size=10))
def test_every_cells_request_is_routed_to_its_column(tenant: Any, project: Any, sub: str) -> None:
    policy = Policy.from_file(DEMO)
    claims = {
        "sub": sub,
        "groups": ["member", "contractor"],
        "custom:tenant_id": tenant,
        "custom:project_id": project,
    }
    (persona,) = personas_from_claims([("p", claims)])
    matrix = build_matrix(policy, [persona])
    for route in matrix.routes:
        cell = matrix.cell("p", route.text)
        for decision in cell.decisions:
            assert route.match(decision.method, cell.path) is not None, (route.text, cell.path)
            assert decision.route is not None  # decide found a policy route for the request
        assert expected_status(policy, persona.principal, cell.request) == cell.status


def test_without_a_route_table_the_rule_routes_are_the_columns() -> None:
    data = Policy.from_file(DESIGN).document
    policy = Policy.from_dict(
        {
            "version": 1,
            "rules": [{"id": r.id, "routes": [route.text for route in r.routes]} for r in data.rules],
        }
    )
    assert policy.api is None
    (someone,) = personas_from_claims([("someone", {"sub": "s"})])
    matrix = build_matrix(policy, [someone])
    assert not matrix.from_api_table
    assert matrix.routes == policy.routes
    assert "ANY /{proxy+}" in {route.text for route in matrix.routes}  # a rule route shown as a column
