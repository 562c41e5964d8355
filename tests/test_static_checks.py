"""The package stays typed (mypy strict), lint-clean and formatted (ruff), checked by the test suite CI runs.

Both are declared in the ``dev`` extra, so ``pip install -e ".[dev]"`` brings them; a missing tool is a
failure here, never a skip. Each runs as a subprocess from the repository root with the project's own
configuration (``[tool.mypy]`` and ``[tool.ruff]`` in pyproject.toml).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_python_sources_are_ruff_formatted() -> None:
    # The code only: the docs' examples keep their hand-aligned comments.
    result = _run("ruff", "format", "--check", "cognito_authz", "tests", "bench", "examples")
    assert result.returncode == 0, result.stdout + result.stderr
