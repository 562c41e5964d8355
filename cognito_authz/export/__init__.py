"""Exports of a policy to other authorization systems: :mod:`cognito_authz.export.cedar` (Cedar, the
language of Amazon Verified Permissions)."""
