"""execute-api ARNs: parse the ``methodArn`` / ``routeArn`` API Gateway sends, build resource strings.

Shapes (API Gateway developer guide, "Input to a Lambda authorizer" and "Resource format of permissions
for executing API"):

- REST and HTTP APIs: ``arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/{VERB}/{path}``;
  the root resource is ``.../{stage}/{VERB}/`` (empty path after the verb).
- WebSocket APIs: ``arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/{route_key}``, for
  example ``.../production/$connect``: no verb.

Parsing is strict because the ARN is event input: anything else raises ``EventError`` with the stable
reason ``invalid_method_arn`` so the authorizer answers without ever allowing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import overload

from cognito_authz._frozen import Frozen, set_field
from cognito_authz.errors import ConfigError, EventError

__all__ = ["HTTP_VERBS", "MAX_METHOD_ARN_LENGTH", "PARTITIONS", "MethodArn"]

#: Partitions API Gateway runs in (commercial, China, GovCloud).
PARTITIONS: frozenset[str] = frozenset({"aws", "aws-cn", "aws-us-gov"})

#: The verbs API Gateway routes; an ``ANY`` method arrives in ``methodArn`` as the request's real verb.
HTTP_VERBS: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

#: API Gateway rejects method ARNs longer than this (the client gets 414); longer input is not from it.
MAX_METHOD_ARN_LENGTH = 1600

_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
_ACCOUNT = re.compile(r"\d{12}")
_API_ID = re.compile(r"[A-Za-z0-9]{1,64}")
# Stage names are letters, digits, '-', '_'; HTTP APIs add the literal ``$default``.
_STAGE = re.compile(r"\$default|[A-Za-z0-9._~-]{1,128}")
_VERB = re.compile(r"[A-Z]{1,16}")
# Verbs _VERB accepts without running it (every one of them matches it): the usual request's verb.
_STANDARD_VERBS = frozenset(HTTP_VERBS)
# WebSocket route keys: ``$connect``, ``$disconnect``, ``$default`` or a custom key (no '/').
_ROUTE_KEY = re.compile(r"\$?[A-Za-z0-9._~:@!,;=+-]{1,128}")
# Control characters never come from API Gateway; rejecting them keeps logs and policies clean.
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def _bad(message: str) -> EventError:
    return EventError(message, reason="invalid_method_arn")


# ``arn:...:{api_id}/{stage}/`` heads already validated -> their components, and the instance dict of an
# ARN under that head without what follows the stage (copied and completed by parse's usual path). An
# authorizer serves one API and stage (a few at most), so nearly every event repeats a head and skips
# five regexes; the table is dropped wholesale when full, so a stream of distinct heads costs only the
# misses.
_KNOWN_HEADS: dict[str, tuple[tuple[str, str, str, str, str], dict[str, str | None]]] = {}
_KNOWN_HEADS_MAX = 64
# The same heads the other way round, components -> ``prefix`` text: ``arn`` and ``prefix`` of a parsed
# ARN (read several times per authorizer invocation) are then a lookup and a join, with no re-validation.
_PREFIX_OF: dict[tuple[str, str, str, str, str], str] = {}


class _Remembered:
    """A read-only text attribute of :class:`MethodArn` (``arn``, ``prefix``) that :meth:`MethodArn.parse`
    stores in the instance dict under its own name, where it is found before this descriptor (which has
    no ``__set__``) for one dict lookup: both are read several times per authorizer invocation, and a
    property is a call each time. An ARN built any other way (its constructor, a copy) has no such entry,
    and the function the descriptor wraps builds the text. The frozen ``__setattr__`` still refuses
    every assignment."""

    def __init__(self, build: Callable[[MethodArn], str]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, instance: None, owner: type[MethodArn]) -> _Remembered: ...

    @overload
    def __get__(self, instance: MethodArn, owner: type[MethodArn]) -> str: ...

    def __get__(self, instance: MethodArn | None, owner: type[MethodArn]) -> _Remembered | str:
        return self if instance is None else self.build(instance)


def _head_fields(head: tuple[str, str, str, str, str], head_text: str | None) -> dict[str, str | None]:
    # The instance dict of a parsed ARN with what follows the stage still to fill in (verb, path, and
    # with a head text the ARN's text, hidden and as `arn`): the components and the head's text (hidden,
    # and as `prefix`, see _Remembered). Every key is there from the start, in field order, so that a
    # copy of it is filled in place (a dict that grows past ten keys is resized on the way).
    fields: dict[str, str | None] = {
        "partition": head[0],
        "region": head[1],
        "account": head[2],
        "api_id": head[3],
        "stage": head[4],
        "verb": None,
        "path": None,
        "_text": None,
        "_head": head_text,
    }
    if head_text is not None:
        fields["prefix"] = head_text
        fields["arn"] = None  # set with _text by whoever completes the dict
    return fields


class MethodArn(Frozen, hidden=("_head", "_text")):
    """A parsed execute-api method ARN (REST/HTTP) or route ARN (WebSocket).

    ``verb`` is ``None`` for WebSocket route ARNs, whose ``path`` is the route key (``$connect``). For
    REST/HTTP ARNs ``path`` always starts with ``/`` (``/`` for the root resource).
    """

    # ``_text`` and ``_head``: the ARN text :meth:`parse` validated and its ``arn:...:{api_id}/{stage}/``
    # part (``None`` when built from components): the canonical forms ``arn`` and ``prefix`` would build,
    # kept so that reading them (several times per authorizer invocation) costs nothing. Hidden: not
    # compared, hashed or shown, as the components say it all.
    # No __slots__: parse builds an ARN on every request by setting its instance dict in one go
    # (_with_rest), cheaper than a store per slot (as Decision does).
    _fields = ("partition", "region", "account", "api_id", "stage", "verb", "path")
    partition: str
    region: str
    account: str
    api_id: str
    stage: str
    verb: str | None
    path: str
    _text: str | None
    _head: str | None

    def __init__(
        self,
        partition: str,
        region: str,
        account: str,
        api_id: str,
        stage: str,
        verb: str | None,
        path: str,
    ) -> None:
        set_field(self, "partition", partition)
        set_field(self, "region", region)
        set_field(self, "account", account)
        set_field(self, "api_id", api_id)
        set_field(self, "stage", stage)
        set_field(self, "verb", verb)
        set_field(self, "path", path)
        set_field(self, "_text", None)
        set_field(self, "_head", None)

    @classmethod
    def parse(cls, arn: object) -> MethodArn:
        """Parse ``methodArn`` / ``routeArn``; other input raises ``EventError`` (``invalid_method_arn``)."""
        if not isinstance(arn, str):
            raise _bad(f"method ARN must be a string, not {type(arn).__name__}")
        if len(arn) > MAX_METHOD_ARN_LENGTH:
            raise _bad(f"method ARN longer than {MAX_METHOD_ARN_LENGTH} characters")
        cut = arn.find("/", arn.find("/") + 1)
        if cut > 0:
            head_text = arn[: cut + 1]
            known = _KNOWN_HEADS.get(head_text)
            if known is not None:
                # A remembered head passed the whole check below (no whitespace or control character),
                # so only the rest of the text is left to test: the same verdict, on a fifth of the text.
                at = arn.find("/", cut + 1)
                verb = arn[cut + 1 : at]
                if at > 0 and verb in _STANDARD_VERBS and type(arn) is str:
                    # The usual request: what _with_rest builds for a standard verb and a path that
                    # passes the test below, without its call (the verb is plain letters, so the rest
                    # passes exactly when the path does). The ARN text is `arn` itself.
                    path = arn[at:]
                    if path.isascii() and path.isprintable() and " " not in path:
                        fields = known[1].copy()
                        fields["verb"] = verb
                        fields["path"] = path
                        fields["_text"] = fields["arn"] = arn
                        parsed = _new_object(cls)
                        _set_attribute(parsed, "__dict__", fields)
                        return parsed
                rest = arn[cut + 1 :]
                if not (rest.isascii() and rest.isprintable() and " " not in rest) and _CONTROL.search(rest):
                    raise _bad("method ARN contains whitespace or control characters")
                return cls._with_rest(known[0], rest, head_text)
        # isprintable() on ASCII text rules out control characters in one C pass; the regex decides the rest.
        if not (arn.isascii() and arn.isprintable() and " " not in arn) and _CONTROL.search(arn):
            raise _bad("method ARN contains whitespace or control characters")
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "execute-api":
            raise _bad("not an execute-api ARN (arn:{partition}:execute-api:{region}:{account}:...)")
        _, partition, _, region, account, resource = parts
        if partition not in PARTITIONS:
            raise _bad(f"unknown partition {partition!r}")
        if not _REGION.fullmatch(region):
            raise _bad(f"invalid region {region!r}")
        if not _ACCOUNT.fullmatch(account):
            raise _bad("account id must be 12 digits")
        pieces = resource.split("/", 3)
        if len(pieces) < 3:
            raise _bad("resource must be {api_id}/{stage}/{verb}/{path} or {api_id}/{stage}/{route_key}")
        api_id, stage = pieces[0], pieces[1]
        if not _API_ID.fullmatch(api_id):
            raise _bad(f"invalid API id {api_id!r}")
        if not _STAGE.fullmatch(stage):
            raise _bad(f"invalid stage {stage!r}")
        head = (partition, region, account, api_id, stage)
        # arn[:cut + 1] is everything up to the stage's '/' (nothing before the resource holds a '/'), so
        # the components just validated are a function of it.
        head_text = arn[: cut + 1]
        parsed = cls._with_rest(head, arn[cut + 1 :], head_text)
        if len(_KNOWN_HEADS) >= _KNOWN_HEADS_MAX:
            _KNOWN_HEADS.clear()
            _PREFIX_OF.clear()
        _KNOWN_HEADS[head_text] = (head, _head_fields(head, head_text))
        _PREFIX_OF[head] = head_text
        return parsed

    @classmethod
    def _with_rest(
        cls, head: tuple[str, str, str, str, str], rest: str, head_text: str | None = None
    ) -> MethodArn:
        """The ARN from validated components and what follows the stage: ``{verb}/{path}`` or a route key.

        ``head_text`` is the text those components were parsed from (``arn:...:{api_id}/{stage}/``), when
        known: the parsed ARN then remembers ``head_text + rest`` as its text, which is exactly what
        :attr:`arn` would build from the components (the head's text is a function of them and back)."""
        verb, slash, path = rest.partition("/")
        if not slash:
            # No slash after the third component: a WebSocket route ARN (``.../{stage}/$connect``).
            if not _ROUTE_KEY.fullmatch(verb):
                raise _bad(f"invalid WebSocket route key {verb!r}")
            verb_or_none: str | None = None
            path = verb
        else:
            # The standard verbs first (a set lookup); any other text takes the regex, as before.
            if verb not in _STANDARD_VERBS and not _VERB.fullmatch(verb):
                raise _bad(f"invalid HTTP verb {verb!r}")
            verb_or_none = verb
            path = "/" + path
        # The instance dict in one go, which bypasses the frozen __setattr__ (the class's own __init__
        # goes through object.__setattr__ and a name lookup per field): an ARN is parsed per request.
        fields = _head_fields(head, head_text)
        fields["verb"] = verb_or_none
        fields["path"] = path
        if head_text is not None:
            fields["_text"] = fields["arn"] = head_text + rest
        parsed = _new_object(cls)
        _set_attribute(parsed, "__dict__", fields)
        return parsed

    @property
    def is_websocket(self) -> bool:
        """True for WebSocket route ARNs (no verb)."""
        return self.verb is None

    @_Remembered
    def prefix(self) -> str:
        """``arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/``: all before the verb."""
        head = self._head
        if head is not None:
            return head
        known = _PREFIX_OF.get((self.partition, self.region, self.account, self.api_id, self.stage))
        if known is not None:
            return known
        return f"arn:{self.partition}:execute-api:{self.region}:{self.account}:{self.api_id}/{self.stage}/"

    @_Remembered
    def arn(self) -> str:
        """The ARN this object was parsed from (canonical form)."""
        text = self._text
        if text is not None:
            return text
        verb, path = self.verb, self.path
        prefix = _PREFIX_OF.get((self.partition, self.region, self.account, self.api_id, self.stage))
        # Components validated by parse: only the verb and path are checked here, as build checks them
        # (anything else takes build's way, which raises ConfigError as before).
        if prefix is not None and type(path) is str:
            if verb is None:
                if path and "/" not in path:
                    return prefix + path
            elif type(verb) is str and path[:1] == "/" and (verb == "*" or _VERB.fullmatch(verb)):
                return f"{prefix}{verb}{path}"
        return self.with_resource(verb, path)

    def __str__(self) -> str:
        return self.arn

    def with_resource(self, verb: str | None, path: str) -> str:
        """This API and stage with another verb and path, as an IAM ``Resource`` string.

        ``verb`` may be ``"*"``; ``path`` may contain ``*`` and ``?`` globs; ``None`` as the verb builds a
        WebSocket route resource (``path`` is then the route key).
        """
        return self.build(
            partition=self.partition,
            region=self.region,
            account=self.account,
            api_id=self.api_id,
            stage=self.stage,
            verb=verb,
            path=path,
        )

    @staticmethod
    def build(
        *,
        partition: str = "aws",
        region: str,
        account: str,
        api_id: str,
        stage: str,
        verb: str | None,
        path: str,
    ) -> str:
        """Build an execute-api resource string; every field may be a glob (``*``).

        REST/HTTP: ``path`` starts with ``/`` (``/`` is the root: ``.../GET/``). WebSocket: ``verb`` is
        ``None`` and ``path`` is the route key. Raises ``ConfigError`` for arguments that cannot form an
        ARN (a programming error, not event input).
        """
        for name, value in (
            ("partition", partition),
            ("region", region),
            ("account", account),
            ("api_id", api_id),
            ("stage", stage),
        ):
            if not isinstance(value, str) or not value or "/" in value or ":" in value:
                raise ConfigError(f"{name} must be a non-empty string without '/' or ':'", field=name)
        if not isinstance(path, str):
            raise ConfigError("path must be a string", field="path")
        prefix = f"arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/"
        if verb is None:
            if not path or "/" in path:
                raise ConfigError("a WebSocket route key is non-empty and has no '/'", field="path")
            return prefix + path
        if not isinstance(verb, str) or not (verb == "*" or _VERB.fullmatch(verb)):
            raise ConfigError("verb must be an upper-case HTTP verb or '*'", field="verb")
        if not path.startswith("/"):
            raise ConfigError("an HTTP resource path starts with '/'", field="path")
        return f"{prefix}{verb}{path}"


_new_object = object.__new__
_set_attribute = object.__setattr__
