"""Hardening campaign fixtures: the session tally of inputs, faults, operations and fetches, printed at
the end of the run (and written to ``$HARDENING_REPORT`` as JSON when set)."""

from __future__ import annotations

import json
import os

import pytest

from tests.hardening.campaign import LONG, TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts = TALLY.snapshot()
    if not counts:
        return
    terminalreporter.section(f"hardening campaign figures ({'long' if LONG else 'default'} profile)")
    width = max(len(name) for name in counts)
    for name, value in counts.items():
        terminalreporter.write_line(f"{name:<{width}}  {value:>10,}")
    path = os.environ.get("HARDENING_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"profile": "long" if LONG else "default", "counts": counts}, handle, indent=2)
