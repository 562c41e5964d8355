"""mkdocs hook: render the error reference from ``cognito_authz.errors.REASONS`` at build time.

``docs/errors.md`` holds the marker ``<!-- reasons -->``; this hook replaces it with one table per error
family, so the page lists exactly the codes the library emits and can never go stale. HTTP statuses are
not copied by hand either: they come from ``cognito_authz.adapters.common.rejection``, the function every
HTTP-shaped adapter answers with.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

MARKER = "<!-- reasons -->"
PAGE = "errors.md"


def _library() -> tuple[Any, Any]:
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:  # building from a checkout without `pip install -e .`
        sys.path.insert(0, root)
    errors = importlib.import_module("cognito_authz.errors")
    common = importlib.import_module("cognito_authz.adapters.common")
    return errors, common


def _http_status(errors: Any, common: Any, cls: type, code: str) -> int:
    """What the handler, ASGI, WSGI and Powertools adapters answer for this error."""
    error = cls("example", reason=code)
    quiet = logging.getLogger("cognito_authz")
    disabled, quiet.disabled = quiet.disabled, True  # rejection() logs each error; not during a build
    try:
        return int(common.rejection(error).status)
    finally:
        quiet.disabled = disabled


def _authorizer_answer(errors: Any, cls: type) -> str:
    """What ``LambdaAuthorizer`` does with this error (mirrors its ``except`` clauses)."""
    if issubclass(cls, errors.TokenError):
        return '401: raises `Exception("Unauthorized")`'
    if issubclass(cls, errors.AccessDenied):
        return "403: a Deny policy (`isAuthorized: false`)"
    return "500: raises `AuthorizerUnavailable` (fail closed, not cached)"


def _family(errors: Any, cls: type) -> type:
    """The direct subclass of ``AuthzError`` that ``cls`` descends from."""
    for base in cls.__mro__:
        if errors.AuthzError in base.__bases__:
            return base
    return cls


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_reasons() -> str:
    """The Markdown that replaces the marker: a family overview, then a table per family."""
    errors, common = _library()
    reasons: dict[str, tuple[type, str]] = errors.REASONS
    families: dict[type, list[tuple[str, type, str]]] = {}
    for code, (cls, meaning) in reasons.items():
        families.setdefault(_family(errors, cls), []).append((code, cls, meaning))

    out: list[str] = [
        f"The library emits **{len(reasons)} reason codes** in {len(families)} families.",
        "",
        "| Family | `status` attribute | Handler, ASGI, WSGI, Powertools answer | Lambda authorizer |",
        "| --- | --- | --- | --- |",
    ]
    for family, rows in families.items():
        answer = _http_status(errors, common, family, rows[0][0])
        status = getattr(family, "status", "")
        out.append(
            f"| [`{family.__name__}`](#{family.__name__.lower()}) | {status} | {answer} | "
            f"{_authorizer_answer(errors, family)} |"
        )
    out.append("")
    for family, rows in families.items():
        doc = " ".join((family.__doc__ or "").split())
        out += [f"## {family.__name__}", "", _cell(doc), ""]
        out += ["| Reason | Class | HTTP | Meaning |", "| --- | --- | --- | --- |"]
        for code, cls, meaning in rows:
            status = _http_status(errors, common, cls, code)
            out.append(
                f'| <span id="{code}"></span>`{code}` | `{cls.__name__}` | {status} | {_cell(meaning)} |'
            )
        out.append("")
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise PluginError(f"docs/{PAGE} lost its {MARKER} marker: the reason table has nowhere to go")
    return markdown.replace(MARKER, render_reasons())
