"""``python -m bench``: every performance row of DESIGN.md section 8 in one run, as a table.

    python -m bench              # the full run (a few minutes on 2 busy cores)
    python -m bench --quick      # a fast smoke run: same rows, fewer and shorter rounds
    python -m bench --json       # the rows as JSON on stdout, for machines
    python -m bench --png bench.png   # also draw a chart (needs matplotlib, not a dependency)

Rows: the floor (cryptography's bare RSA verify of the token's signature), peer libraries, our verify,
decide at 10 to 10,000 rules, a whole Lambda authorizer invocation, and cold starts in fresh processes.
Each shows the median, the ratio to its reference measured in the same run, the budget and ok/MISS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench import authorizer, coldstart, decide, iam, verify
from bench._rows import Row, Setup, floor_row

GROUPS: dict[str, Callable[[Setup], list[Row]]] = {
    "verify": verify.run,  # peers and ours
    "decide": decide.run,
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


def chart(rows: Sequence[Row], path: str) -> bool:
    """Draw the ratios as horizontal bars with budget ticks; ``False`` when matplotlib is missing."""
    try:
        import matplotlib  # type: ignore[import-not-found]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found]
    except ImportError:
        return False
    names = [row.name for row in rows][::-1]
    ratios = [row.ratio for row in rows][::-1]
    colors = [{None: "tab:gray", True: "tab:green", False: "tab:red"}[row.passed] for row in rows][::-1]
    figure, axes = plt.subplots(figsize=(11, 0.35 * len(rows) + 1.5))
    axes.barh(names, ratios, color=colors)
    for y, row in enumerate(rows[::-1]):
        if row.budget is not None:
            axes.plot([row.budget, row.budget], [y - 0.4, y + 0.4], color="black", linewidth=2)
    axes.set_xscale("log")
    axes.set_xlabel("ratio to the row's reference (floor, import jwt, or decide at 10 rules); bar = budget")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fast smoke run (fewer, shorter rounds)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of the table")
    parser.add_argument("--png", metavar="FILE", help="also save a chart (needs matplotlib)")
    parser.add_argument("--no-peers", action="store_true", help="skip pyjwt, python-jose, joserfc, authlib")
    parser.add_argument(
        "--only", action="append", choices=sorted(GROUPS), default=[], help="run only this group (repeatable)"
    )
    args = parser.parse_args(argv)
    setup = Setup(quick=args.quick, peers=not args.no_peers)
    rows = collect(setup, args.only)
    if args.json:
        payload = {"quick": args.quick, "environment": environment(), "rows": [r.as_dict() for r in rows]}
        print(json.dumps(payload, indent=2))
    else:
        print(format_table(rows))
    if args.png and not chart(rows, args.png):
        print(
            "--png: matplotlib is not installed (pip install matplotlib); no chart written", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
