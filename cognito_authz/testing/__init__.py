"""Test helpers for users' own test suites: a local Cognito-shaped issuer and pytest fixtures."""
