"""Small immutable value classes without ``dataclasses``: what the start-up path builds its classes from.

Creating a ``@dataclass`` compiles source text for each generated method (``exec`` of ``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``...) and, with ``slots=True``, builds the class a
second time: about 3.9 M instructions per class, and importing ``dataclasses`` brings ``inspect``,
``ast``, ``dis`` and ``tokenize`` with it. Every module a Lambda authorizer imports at cold start
defines its value classes on :class:`Frozen` instead (see docs/performance.md, *Cold start*).

A subclass lists its fields in ``__slots__``, annotates each in the class body (that order is the
order of ``repr``, as a dataclass's field order) and writes its own ``__init__``, setting each field with
:data:`set_field` (``object.__setattr__``, as a frozen dataclass's generated ``__init__`` does).
:class:`Frozen` gives it, with nothing compiled at import:

- ``==`` and ``hash`` over the fields, equal only to an instance of the very same class (as a
  dataclass compares); fields named in the class keyword ``hidden`` are left out of ``==``, ``hash``
  and ``repr`` (a dataclass's ``field(compare=False, repr=False)``);
- a ``repr`` of the form ``Name(field=value, ...)``;
- refusal of every attribute assignment and deletion with ``dataclasses.FrozenInstanceError`` (an
  ``AttributeError``), exactly the error a frozen dataclass raises: ``dataclasses`` is imported only on
  that misuse, never at start-up;
- ``copy``, ``deepcopy`` and ``pickle`` support through ``__getstate__``/``__setstate__`` (the default
  would assign the slots with ``setattr``, which a frozen class refuses).

A class that keeps a ``__dict__`` instead of slots (``Decision``: built on every request by filling its
dict in one go) names its compared fields in ``_fields`` itself (and its hidden ones with ``hidden``).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, ClassVar, NoReturn

__all__ = ["Frozen", "set_field"]

#: Sets a field of a frozen instance from its ``__init__`` (the class's own ``__setattr__`` refuses).
set_field = object.__setattr__


def _refuse(instance: object, name: str) -> NoReturn:
    # Imported here, on misuse only: the error users and tests already catch for frozen dataclasses.
    from dataclasses import FrozenInstanceError

    raise FrozenInstanceError(f"cannot assign to field {name!r} of {type(instance).__name__}")


class Frozen:
    """Base of an immutable value class: equality, hash, repr and refusal of assignment (module doc)."""

    __slots__ = ()

    #: The fields ``==``, ``hash`` and ``repr`` read: every slot not ``hidden``, in annotation order.
    _fields: ClassVar[tuple[str, ...]] = ()
    #: Every slot, hidden ones included: what ``copy`` and ``pickle`` carry.
    _state: ClassVar[tuple[str, ...]] = ()
    #: The compared fields' values of an instance (C-level; a bare value when there is one field).
    _key: ClassVar[attrgetter[Any]]

    def __init_subclass__(cls, *, hidden: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if "_fields" not in own:
            # The parent's fields first (as a dataclass collects inherited ones), read before they are
            # replaced on this class; its hidden fields stay hidden.
            inherited_state, inherited_fields = cls._state, cls._fields
            slots = own.get("__slots__", ())
            if isinstance(slots, str):
                slots = (slots,)
            # In the order the class body annotates them (``__slots__`` may be sorted), as a dataclass;
            # not inspect.get_annotations: importing inspect is part of what this module avoids.
            ordered = [name for name in own.get("__annotations__", ()) if name in slots]
            if len(ordered) != len(slots):  # an unannotated slot comes last
                ordered += [name for name in slots if name not in ordered]
            cls._state = inherited_state + tuple(slots)
            cls._fields = inherited_fields + tuple(name for name in ordered if name not in hidden)
        elif "_state" not in own:
            cls._state = cls._fields + hidden
        if cls._fields:  # an intermediate base (no fields of its own) is never instantiated
            cls._key = attrgetter(*cls._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            key = self._key
            same: bool = key(self) == key(other)
            return same
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: object) -> NoReturn:
        _refuse(self, name)

    def __delattr__(self, name: str) -> NoReturn:
        _refuse(self, name)

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._state)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self._state, state, strict=True):
            set_field(self, name, value)
