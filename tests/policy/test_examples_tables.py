"""The example policies carry their API's route table, and the README's tour policy has a file twin
(``examples/policies/tour.yaml``) whose rules stay the README's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from cognito_authz import Policy
from cognito_authz.policy.lint import lint_file

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "examples" / "policies"


def readme_tour_policy() -> dict[str, object]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n# policy\.yaml\n(.*?)```", readme, re.S)
    assert block is not None, "README's tour has no '# policy.yaml' block"
    data = yaml.safe_load(block.group(1))
    assert isinstance(data, dict)
    return data


def test_tour_file_has_the_readme_rules() -> None:
    tour = yaml.safe_load((POLICIES / "tour.yaml").read_text())
    readme = readme_tour_policy()
    assert tour == readme


@pytest.mark.parametrize("name", ["demo.yaml", "design_example.yaml", "tour.yaml"])
def test_examples_have_a_route_table_and_lint_clean(name: str) -> None:
    policy = Policy.from_file(POLICIES / name)
    assert policy.api is not None
    assert len(policy.api) > 0
    assert lint_file(POLICIES / name) == []


@pytest.mark.parametrize("name", ["demo", "design_example"])
def test_every_allowed_case_is_a_routable_request_or_says_why(name: str) -> None:
    """The tables describe the examples' APIs: each allowed case (except the few that exist to show how
    decide reads an odd path) is a request API Gateway routes to the table."""
    policy = Policy.from_file(POLICIES / f"{name}.yaml")
    assert policy.api is not None
    cases = yaml.safe_load((POLICIES / f"{name}.cases.yaml").read_text())["cases"]
    unroutable = [
        f"{case.get('method', '')} {case['path']}".strip()
        for case in cases
        if case["expect"] == "allow" and not policy.api.routable(case.get("method", ""), case["path"])
    ]
    # decide answers about any request: these cases show the admin rule reaching beyond the API, and
    # tenant-guard sparing a tenant's own record (which this API lists at GET /tenants instead)
    assert unroutable == ([] if name == "demo" else ["GET /anything", "GET /tenants/globex"])
