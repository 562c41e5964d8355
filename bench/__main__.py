"""``python -m bench``: every performance row of docs/performance.md in one run, as a table.

    python -m bench              # the full run (a few minutes on 2 busy cores)
    python -m bench --quick      # a fast smoke run: same rows, fewer and shorter rounds
    python -m bench --json       # the rows as JSON on stdout, for machines
    python -m bench --png docs/performance.png   # also draw the chart (matplotlib, the bench extra)
    python -m bench --callgrind  # also count instructions under valgrind (bench/callgrind.py)

Rows: the floor (cryptography's bare RSA verify of the token's signature), peer libraries, our verify,
decide at 10 to 10,000 rules beside Cedar and Casbin, a whole Lambda authorizer invocation, and cold
starts in fresh processes beside peers' imports. Each shows the median, the ratio to its reference
measured in the same run, the budget and ok/MISS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from bench import authorizer, callgrind, chart, coldstart, decide, decide_peers, iam, verify
from bench._rows import Row, Setup, floor_row

GROUPS: dict[str, Callable[[Setup], list[Row]]] = {
    "verify": verify.run,  # peers and ours
    "decide": lambda setup: [*decide.run(setup), *decide_peers.run(setup)],
    "authorizer": authorizer.run,
    "coldstart": coldstart.run,
    "iam": iam.run,  # first proof per principal class, 300-route table
}


def collect(setup: Setup, only: Sequence[str] = ()) -> list[Row]:
    """Run the selected groups (all by default) and return their rows, the floor first."""
    rows = [floor_row(setup)]
    for name, run in GROUPS.items():
        if not only or name in only:
            rows.extend(run(setup))
    return rows


def _budget_text(row: Row) -> str:
    if row.budget is None:
        return ""
    return f"<= {row.budget:g}x"


def _mark(row: Row) -> str:
    return {None: "", True: "ok", False: "MISS"}[row.passed]


def format_table(rows: Sequence[Row]) -> str:
    """The human-readable table (what docs/performance.md quotes)."""
    header = ("case", "median", "ratio", "of", "budget", "")
    body = [
        (
            row.name,
            f"{row.median:,.2f} {row.unit}",
            f"{row.ratio:.3f}x",
            row.against,
            _budget_text(row),
            _mark(row),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    right = {1, 2}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(cells)
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    group = rows[0].group if rows else ""
    for row, cells in zip(rows, body, strict=True):
        if row.group != group:
            out.append("")
            group = row.group
        out.append(line(cells))
    budgeted = [row for row in rows if row.budget is not None]
    missed = [row.name for row in budgeted if not row.passed]
    out.append("")
    out.append(
        f"budgets: {len(budgeted) - len(missed)} of {len(budgeted)} met"
        + (f"; MISSED: {', '.join(missed)}" if missed else "")
    )
    return "\n".join(out)


def environment() -> dict[str, Any]:
    """Where the numbers come from (ratios travel between machines, absolute times do not)."""
    versions: dict[str, str] = {}
    for module in ("cryptography", "jwt", "jose", "joserfc", "authlib", "pydantic", "yaml"):
        try:
            versions[module] = str(getattr(__import__(module), "__version__", "?"))
        except ImportError:
            continue
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": versions,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fast smoke run (fewer, shorter rounds)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of the table")
    parser.add_argument("--png", metavar="FILE", help="also draw the chart (needs matplotlib)")
    parser.add_argument(
        "--callgrind", action="store_true", help="also count instructions per call under valgrind"
    )
    parser.add_argument("--no-peers", action="store_true", help="skip pyjwt, python-jose, joserfc, authlib")
    parser.add_argument(
        "--only", action="append", choices=sorted(GROUPS), default=[], help="run only this group (repeatable)"
    )
    args = parser.parse_args(argv)
    setup = Setup(quick=args.quick, peers=not args.no_peers)
    rows = collect(setup, args.only)
    counts = callgrind.run(quick=args.quick) if args.callgrind else []
    if args.json:
        payload: dict[str, Any] = {
            "quick": args.quick,
            "environment": environment(),
            "rows": [r.as_dict() for r in rows],
        }
        if counts:
            payload["callgrind"] = [asdict(count) for count in counts]
        print(json.dumps(payload, indent=2))
    else:
        print(format_table(rows))
        if counts:
            print()
            print(callgrind.format_counts(counts))
    env = environment()
    load = f", load {env['load_average'][0]:.1f}" if env["load_average"] else ""
    subtitle = f"Python {env['python']}, {env['cpus']} CPUs{load}, {env['time']}"
    if args.png and not chart.draw(rows, args.png, subtitle=subtitle):
        print(
            "--png: matplotlib is not installed (pip install matplotlib); no chart written", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
