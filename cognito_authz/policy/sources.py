"""Read policy and decision-table files: YAML (the ``yaml`` extra), JSON or TOML, chosen by extension.

Parsers are made strict where their defaults are lenient in ways that could change access: duplicate
mapping keys are errors in YAML and JSON (PyYAML and ``json`` keep the last one silently; TOML already
refuses them), JSON rejects ``NaN``/``Infinity``, and files are size-capped before parsing.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from cognito_authz.errors import PolicyError

if TYPE_CHECKING:  # pathlib only for annotations: a cold start need not import it
    from pathlib import Path

__all__ = ["MAX_FILE_BYTES", "load_file"]

#: Largest policy or decision-table file read (a 10,000-rule policy is well under 2 MiB).
MAX_FILE_BYTES = 16 * 1024 * 1024

_YAML_SUFFIXES = (".yaml", ".yml")


def load_file(path: str | Path, *, what: str = "policy", cloudformation: bool = False) -> Any:
    """Parse ``path`` by its extension; raise :class:`PolicyError` naming the file on any problem.

    ``cloudformation`` lets YAML carry CloudFormation's short-form tags (``!Ref``, ``!Sub``, ``!GetAtt``...),
    read as their long form (``{"Ref": ...}``, ``{"Fn::Sub": ...}``), for SAM templates.
    """
    # os.path rather than pathlib: a Lambda cold start loads its policy here and need not import pathlib.
    source = os.fspath(path)
    suffix = os.path.splitext(os.path.basename(source))[1].lower()
    if suffix not in (*_YAML_SUFFIXES, ".json", ".toml"):
        raise PolicyError(
            f"unsupported {what} file type {suffix or '(none)'!r}: use .yaml, .yml, .json or .toml",
            reason="policy_unreadable",
            source=source,
        )
    try:
        with open(source, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise PolicyError(
            f"cannot read {what} file: {exc.strerror or exc}", reason="policy_unreadable", source=source
        ) from exc
    if len(raw) > MAX_FILE_BYTES:
        raise PolicyError(
            f"{what} file is larger than {MAX_FILE_BYTES} bytes", reason="policy_unreadable", source=source
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"{what} file is not UTF-8 ({exc.reason} at byte {exc.start})",
            reason="policy_syntax",
            source=source,
        ) from None
    if suffix in _YAML_SUFFIXES:
        return _load_yaml(text, source, cloudformation=cloudformation)
    if suffix == ".json":
        return _load_json(text, source)
    return _load_toml(text, source)


def _load_json(text: str, source: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise _Duplicate(key)
            out[key] = value
        return out

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not allowed")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except _Duplicate as exc:
        raise PolicyError(f"duplicate key {exc.key!r}", reason="policy_syntax", source=source) from None
    except json.JSONDecodeError as exc:
        raise PolicyError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            reason="policy_syntax",
            source=source,
        ) from None
    except (ValueError, RecursionError) as exc:
        raise PolicyError(f"invalid JSON: {exc}", reason="policy_syntax", source=source) from None


def _load_toml(text: str, source: str) -> Any:
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10 has no tomllib
        raise PolicyError(
            "TOML files need Python 3.11 or newer (or use YAML or JSON)",
            reason="policy_unreadable",
            source=source,
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"invalid TOML: {exc}", reason="policy_syntax", source=source) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise PolicyError("invalid TOML: nested too deeply", reason="policy_syntax", source=source) from None


class _Duplicate(Exception):
    def __init__(self, key: object) -> None:
        super().__init__(key)
        self.key = key


def _load_yaml(text: str, source: str, *, cloudformation: bool = False) -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - the dev environment always has the extra
        raise PolicyError(
            "YAML files need PyYAML: pip install 'cognito-authz[yaml]' (or use JSON or TOML)",
            reason="policy_unreadable",
            source=source,
        ) from None

    # libyaml's parser when PyYAML was built with it (the wheels are): the same SafeConstructor, so the
    # same types and the duplicate-key check below, for a tenth of the pure-Python parser's time (≈ 2 ms
    # of a cold start for a 1 KB policy, docs/performance.md).
    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[valid-type,misc]
        """SafeLoader that refuses duplicate keys instead of keeping the last one."""

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
        loader.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, f"unhashable key {key!r}", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return loader.construct_mapping(node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    if cloudformation:

        def construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
            # ``!Ref X`` is ``{"Ref": "X"}``; ``!GetAtt A.B`` is ``{"Fn::GetAtt": ["A", "B"]}``; the rest
            # ``!Name value`` is ``{"Fn::Name": value}``.
            if isinstance(node, yaml.ScalarNode):
                value: Any = loader.construct_scalar(node)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                value = construct_mapping(loader, node, deep=True)  # type: ignore[arg-type]
            if suffix == "Ref":
                return {"Ref": value}
            if suffix == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
            return {f"Fn::{suffix}": value}

        StrictLoader.add_multi_constructor("!", construct_intrinsic)
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PolicyError(f"invalid YAML: {exc}", reason="policy_syntax", source=source) from None
    except RecursionError:
        raise PolicyError("invalid YAML: nested too deeply", reason="policy_syntax", source=source) from None
