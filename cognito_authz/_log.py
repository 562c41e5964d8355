"""Loggers that import ``logging`` when something is first logged, not when the library is imported.

Importing ``logging`` costs a cold start about 18 M instructions (with ``traceback``, ``string`` and
``textwrap``; ``python -m bench.startup_costs``), and an authorizer whose policy is cache-safe logs
nothing while it starts. :func:`get_logger` returns a stand-in that resolves
``logging.getLogger(name)`` on its first use and hands every attribute to that logger from then on,
so ``logger.warning(...)``, ``logger.isEnabledFor(...)``, handlers, levels and pytest's ``caplog``
behave exactly as with the real logger (it *is* the real logger, looked up by name). Under AWS
Lambda's Python runtime ``logging`` is usually loaded before the function's module anyway; elsewhere
(tests, containers, the bench) this keeps it off the start-up path.

A record logged while ``logging`` has still not been imported by anyone cannot meet a handler, a level
or a filter: nothing can have configured them. ``logging`` itself then hands it to its *last resort*,
a stderr handler at WARNING that writes the bare message (``logging.lastResort``,
https://docs.python.org/3/library/logging.html#logging.lastResort; the root logger's default level is
WARNING). The stand-in does exactly that for ``warning``/``error``/``critical`` and drops
``info``/``debug`` (below the root's default level), without importing ``logging``; anything else (an
``exc_info``, ``extra`` or ``stacklevel`` argument, ``exception``, any other attribute) goes to the real
logger. So an authorizer that warns at start-up that its policy is not cache-safe writes the same line
to stderr as the real logger would, and the start-up path still never loads ``logging``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from logging import Logger

__all__ = ["get_logger"]

#: ``logging.lastResort.level``: WARNING.
_LAST_RESORT_LEVEL = 30


class _LazyLogger:
    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Logger | None = None

    def __getattr__(self, attribute: str) -> Any:
        # Called only for names this stand-in lacks: every Logger attribute, on every use (cheap next
        # to the logging call itself; the lookup by name happens once).
        return getattr(self._real(), attribute)

    def _real(self) -> Logger:
        logger = self._logger
        if logger is None:
            import logging

            logger = self._logger = logging.getLogger(self._name)
        return logger

    def __repr__(self) -> str:
        return f"<lazy logger {self._name!r}>"

    def isEnabledFor(self, level: int) -> bool:
        """``Logger.isEnabledFor``, found on this class: through ``__getattr__`` every call first fails
        the normal lookup (an ``AttributeError`` made and dropped), and the Lambda authorizer asks before
        logging each denial."""
        logger = self._logger
        return (logger if logger is not None else self._real()).isEnabledFor(level)

    def _unconfigured(self, level: int, msg: object, args: tuple[object, ...]) -> bool:
        """Log as ``logging`` would with nothing configured, if it is not loaded; ``False`` otherwise."""
        if self._logger is not None or "logging" in sys.modules:
            return False
        if level < _LAST_RESORT_LEVEL:
            return True  # below the root logger's default level: logging would drop it too
        try:
            text = str(msg) % args if args else str(msg)
        except Exception:  # logging reports a bad format its own way: let it
            return False
        stream = sys.stderr
        if stream is not None:
            stream.write(text + "\n")
            stream.flush()
        return True


def _level_method(name: str, level: int) -> Any:
    """``Logger.<name>`` on the stand-in: the last-resort path while ``logging`` is not loaded."""

    def log(self: _LazyLogger, msg: object, *args: object, **kwargs: Any) -> None:
        if kwargs or not self._unconfigured(level, msg, args):
            self.__getattr__(name)(msg, *args, **kwargs)

    log.__name__ = log.__qualname__ = name
    return log


# logging's numeric levels (DEBUG 10 ... CRITICAL 50), by value: logging itself is not imported here.
for _name, _level in (("debug", 10), ("info", 20), ("warning", 30), ("error", 40), ("critical", 50)):
    setattr(_LazyLogger, _name, _level_method(_name, _level))


def get_logger(name: str) -> Logger:
    """``logging.getLogger(name)``, looked up (and ``logging`` imported) when first used."""
    return cast("Logger", _LazyLogger(name))
