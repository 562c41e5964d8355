"""Test-only helpers shared by several test modules (real servers and keys, never mocks of our code)."""
