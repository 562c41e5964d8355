"""The permission matrix as text, Markdown, CSV and a self-contained HTML page, and a policy diff's
flipped cells in the same formats.

Every format shows, for each cell, the decision, the determining rule(s) and the concrete request the
cell was decided on (see :mod:`cognito_authz.matrix`), so nobody has to guess which tenant "allow" means.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence

from cognito_authz.matrix import REPRESENTATIVE, Cell, CellFlip, Matrix

__all__ = ["FORMATS", "render_diff", "render_matrix"]

#: The output formats ``render_matrix`` and ``render_diff`` accept.
FORMATS: tuple[str, ...] = ("text", "markdown", "csv", "html")

_MARK = {"allow": "allow", "deny": "deny", "mixed": "mixed"}
_MD_MARK = {"allow": "✅ allow", "deny": "⛔ deny", "mixed": "◐ mixed"}
_CSV_HEADER = ("persona", "route", "request", "decision", "allowed_verbs", "rules", "reasons")


def render_matrix(matrix: Matrix, fmt: str, *, details: bool = True) -> str:
    """The matrix in one of :data:`FORMATS`; ``details=False`` leaves the per-cell list out of ``text``
    (the grid and the route legend only)."""
    if fmt == "text":
        return _text(matrix, details=details)
    if fmt == "markdown":
        return _markdown(matrix)
    if fmt == "csv":
        return _csv([cell for _, cells in matrix.rows() for cell in cells])
    if fmt == "html":
        return _html(matrix)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


def render_diff(matrix: Matrix, flips: Sequence[CellFlip], fmt: str, *, old_source: str) -> str:
    """The flipped cells only: persona, route, the request both policies decided, before and after."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("persona", "route", "request", "old", "new", "old_rules", "new_rules"))
        for flip in flips:
            writer.writerow(
                (flip.persona, flip.route, flip.new.request, flip.old.status, flip.new.status,
                 " ".join(flip.old.rules), " ".join(flip.new.rules))
            )  # fmt: skip
        return out.getvalue()
    title = f"{len(flips)} cell(s) flip from {old_source} to {matrix.source}"
    if fmt == "text":
        lines = [title]
        for flip in flips:
            lines.append(
                f"  {flip.persona} | {flip.route} | {flip.new.request}: "
                f"{flip.old.status} ({flip.old.summary()}) -> {flip.new.status} ({flip.new.summary()})"
            )
        return "\n".join(lines) + "\n"
    if fmt == "markdown":
        lines = [f"**{_md(title)}**", ""]
        if flips:
            lines += ["| persona | route | request | before | after |", "|---|---|---|---|---|"]
            for flip in flips:
                lines.append(
                    f"| {_md(flip.persona)} | `{_md(flip.route)}` | `{_md(flip.new.request)}` | "
                    f"{_MD_MARK[flip.old.status]} ({_md(flip.old.summary())}) | "
                    f"{_MD_MARK[flip.new.status]} ({_md(flip.new.summary())}) |"
                )
        return "\n".join(lines) + "\n"
    if fmt == "html":
        rows = "".join(
            f"<tr><td>{_h(flip.persona)}</td><td><code>{_h(flip.route)}</code></td>"
            f"<td><code>{_h(flip.new.request)}</code></td>{_html_cell(flip.old)}{_html_cell(flip.new)}</tr>"
            for flip in flips
        )
        body = (
            f"<h1>{_h(title)}</h1><table><thead><tr><th>persona</th><th>route</th><th>request</th>"
            f"<th>before</th><th>after</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        return _page(title, body)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


# --- text ----------------------------------------------------------------------------------------------


def _text(matrix: Matrix, *, details: bool) -> str:
    where = "the API's route table" if matrix.from_api_table else "the policy's rule routes"
    grid = [[persona.name, *(_MARK[cell.status] for cell in cells)] for persona, cells in matrix.rows()]
    lines = [f"permission matrix: {matrix.source} ({len(matrix.routes)} routes from {where})", ""]
    # Route texts are long: number the columns and list them, so the grid stays narrow.
    numbered = ["persona", *(f"[{i}]" for i in range(1, len(matrix.routes) + 1))]
    widths = [max(len(numbered[i]), *(len(row[i]) for row in grid)) if grid else len(numbered[i])
              for i in range(len(numbered))]  # fmt: skip
    lines.append("  ".join(text.ljust(widths[i]) for i, text in enumerate(numbered)).rstrip())
    lines.append("  ".join("-" * width for width in widths))
    for row in grid:
        lines.append("  ".join(text.ljust(widths[i]) for i, text in enumerate(row)).rstrip())
    lines.append("")
    for index, route in enumerate(matrix.routes, start=1):
        lines.append(f"[{index}] {route.text}")
    lines.append("")
    if not details:
        lines.append(
            "(parameters take the persona's own claim value where a rule compares it, else "
            f"{REPRESENTATIVE!r}; 'cognito-authz matrix' lists each cell's request and rule)"
        )
        return "\n".join(lines) + "\n"
    lines.append("cells (decided on the concrete request shown; rule = the determining rule):")
    for persona, cells in matrix.rows():
        for index, cell in enumerate(cells, start=1):
            lines.append(f"  {persona.name} [{index}] {cell.request}: {cell.status} ({cell.summary()})")
    return "\n".join(lines) + "\n"


# --- Markdown ------------------------------------------------------------------------------------------


def _md(text: str) -> str:
    # one table cell: no pipes, no backticks that would close the code span, no line breaks
    return " ".join(text.replace("|", "\\|").replace("`", "'").split())


def _markdown(matrix: Matrix) -> str:
    lines = [
        f"**Permission matrix** for `{_md(matrix.source)}`: each cell is the decision, the determining "
        "rule and the concrete request it was decided on.",
        "",
        "| persona | " + " | ".join(f"`{_md(route.text)}`" for route in matrix.routes) + " |",
        "|---" * (len(matrix.routes) + 1) + "|",
    ]
    for persona, cells in matrix.rows():
        shown = [
            f"{_MD_MARK[cell.status]}<br>{_md(cell.summary())}<br>`{_md(cell.request)}`" for cell in cells
        ]
        lines.append(f"| {_md(persona.name)} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


# --- CSV -----------------------------------------------------------------------------------------------


def _csv(cells: Sequence[Cell]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_HEADER)
    for cell in cells:
        writer.writerow(
            (cell.persona, cell.route, cell.request, cell.status, " ".join(cell.allowed_verbs),
             " ".join(cell.rules), " ".join(sorted({d.reason for d in cell.decisions})))
        )  # fmt: skip
    return out.getvalue()


# --- HTML ----------------------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.2em; margin: 0 0 .3em; }
p.note { color: #555; margin: 0 0 1em; max-width: 60em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #c8c8c8; padding: .35em .6em; text-align: center; vertical-align: middle; }
thead th { background: #f2f2f2; font-weight: 600; }
thead th { max-width: 8.5em; vertical-align: bottom; }
thead th code { font-size: .8em; }
th.persona { text-align: left; background: #f7f7f7; white-space: nowrap; }
td.allow { background: #c9efd0; color: #0b4f1c; }
td.deny { background: #f6cdcd; color: #7a1010; }
td.mixed { background: #fbe7b0; color: #6a4a00; }
td { cursor: help; min-width: 4.5em; }
td .rule { display: block; font-size: .72em; opacity: .8; overflow-wrap: anywhere; }
"""


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_cell(cell: Cell) -> str:
    title = f"{cell.request}\n{cell.status}: {cell.summary()}\n\n{cell.explain()}"
    return (
        f'<td class="{cell.status}" data-persona="{_h(cell.persona)}" data-route="{_h(cell.route)}" '
        f'data-request="{_h(cell.request)}" data-decision="{cell.status}" '
        f'data-rules="{_h(" ".join(cell.rules))}" title="{_h(title)}">'
        f'{_MARK[cell.status]}<span class="rule">{_h(cell.summary())}</span></td>'
    )


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_h(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def _html(matrix: Matrix) -> str:
    where = "the API's route table" if matrix.from_api_table else "the policy's rule routes"
    # a line may break after each '/' of a long route (<wbr>), so the columns stay narrow
    head = "".join(
        f"<th><code>{_h(route.text).replace('/', '/<wbr>')}</code></th>" for route in matrix.routes
    )
    rows = "".join(
        f'<tr><th class="persona" scope="row">{_h(persona.name)}</th>'
        + "".join(_html_cell(cell) for cell in cells)
        + "</tr>"
        for persona, cells in matrix.rows()
    )
    title = f"Permission matrix: {matrix.source}"
    body = (
        f"<h1>{_h(title)}</h1>"
        f'<p class="note">Columns: {len(matrix.routes)} routes from {where}. Each cell names the '
        "determining rule; hover for the concrete request it was decided on and the full explanation. "
        "An ANY route is decided for all seven verbs (mixed: only some are allowed).</p>"
        f'<table id="matrix"><thead><tr><th>persona</th>{head}</tr></thead><tbody>{rows}</tbody></table>'
    )
    return _page(title, body)
