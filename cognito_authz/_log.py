"""Loggers that import ``logging`` when something is first logged, not when the library is imported.

Importing ``logging`` costs a cold start about 18 M instructions (with ``traceback``, ``string`` and
``textwrap``; ``python -m bench.startup_costs``), and an authorizer whose policy is cache-safe logs
nothing while it starts. :func:`get_logger` returns a stand-in that resolves
``logging.getLogger(name)`` on its first use and hands every attribute to that logger from then on,
so ``logger.warning(...)``, ``logger.isEnabledFor(...)``, handlers, levels and pytest's ``caplog``
behave exactly as with the real logger (it *is* the real logger, looked up by name). Under AWS
Lambda's Python runtime ``logging`` is usually loaded before the function's module anyway; elsewhere
(tests, containers, the bench) this keeps it off the start-up path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from logging import Logger

__all__ = ["get_logger"]


class _LazyLogger:
    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Logger | None = None

    def __getattr__(self, attribute: str) -> Any:
        # Called only for names this stand-in lacks: every Logger attribute, on every use (cheap next
        # to the logging call itself; the lookup by name happens once).
        logger = self._logger
        if logger is None:
            import logging

            logger = self._logger = logging.getLogger(self._name)
        return getattr(logger, attribute)

    def __repr__(self) -> str:
        return f"<lazy logger {self._name!r}>"


def get_logger(name: str) -> Logger:
    """``logging.getLogger(name)``, looked up (and ``logging`` imported) when first used."""
    return cast("Logger", _LazyLogger(name))
