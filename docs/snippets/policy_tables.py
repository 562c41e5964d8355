"""Run a decision table from Python (the `cognito-authz test` command does the same)."""

from cognito_authz import Policy
from cognito_authz.policy import run_decision_table

policy = Policy.from_file("examples/policies/design_example.yaml")
result = run_decision_table(policy, "examples/policies/design_example.cases.yaml")
for case in result.results[:4]:
    print(case.describe())
print(result.summary())
assert result.passed, [case.describe() for case in result.failures]
