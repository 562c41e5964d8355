"""Lint a policy file from Python (the `cognito-authz lint` command prints the same findings)."""

from cognito_authz.policy import lint_file

for finding in lint_file("docs/snippets/flawed_policy.yaml"):
    print(finding)  # finding.severity, finding.code, finding.rule_id, finding.message
