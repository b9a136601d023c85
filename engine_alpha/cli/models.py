"""`chloe models`: every installed signal model, where it comes from, and its parameters.

Each `engine_alpha.signal_models` entry point is listed with its distribution, the object it
names, the model's summary and each parameter (dotted for nested ones, such as
`regime.vol_fast_bars`) with its type and default, read from the params model's JSON Schema. An
entry point that cannot be used is listed with its error, and the command exits 1 (else 0).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from engine_alpha.core.exit_codes import EXIT_FAILED, EXIT_OK

__all__ = ["ModelInfo", "ParamInfo", "describe_installed", "param_table", "register"]

_HELP = "list the installed signal models with their parameters and defaults"


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One parameter: its dotted name, JSON Schema type, default and description."""

    name: str
    type: str
    default: Any
    description: str | None


@dataclass(slots=True)
class ModelInfo:
    """One installed model as `chloe models` shows it; `error` when its entry point is broken."""

    name: str
    entry_point: str
    distribution: str | None
    version: str | None
    builtin: bool
    summary: str | None = None
    params: list[ParamInfo] = field(default_factory=list)
    params_schema: dict[str, Any] | None = None
    error: str | None = None


def _type_of(schema: dict[str, Any]) -> str:
    """A JSON Schema type for people: `integer`, `number | null`, `array of integer`..."""
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if "const" in schema:
        return f"{schema['const']!r}"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_type_of(option) for option in schema[key])
    kind = schema.get("type")
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"array of {_type_of(schema['items'])}"
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    return str(kind) if kind is not None else "any"


def _nested(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    """The object schema a property refers to (`$ref`, or `allOf` of one `$ref`), if any."""
    ref = schema.get("$ref")
    if ref is None and len(schema.get("allOf", ())) == 1:
        ref = schema["allOf"][0].get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return None
    target = defs.get(ref.removeprefix("#/$defs/"))
    return target if isinstance(target, dict) and "properties" in target else None


def param_table(schema: dict[str, Any]) -> list[ParamInfo]:
    """Every parameter of a params model's JSON Schema, nested models flattened to dotted names."""
    defs: dict[str, Any] = schema.get("$defs", {})

    def walk(obj: dict[str, Any], prefix: str, defaults: dict[str, Any]) -> list[ParamInfo]:
        rows: list[ParamInfo] = []
        for name, prop in obj.get("properties", {}).items():
            default = prop.get("default", defaults.get(name))
            inner = _nested(prop, defs)
            if inner is not None:
                given = default if isinstance(default, dict) else {}
                rows += walk(inner, f"{prefix}{name}.", given)
                continue
            rows.append(ParamInfo(prefix + name, _type_of(prop), default, prop.get("description")))
        return rows

    return walk(schema, "", {})


def describe_installed() -> list[ModelInfo]:
    """Every installed model by name; a broken one carries the error `load_entry` gives."""
    from engine_alpha.config.signal_models import builtin, installed, load_entry

    own = set(builtin())
    models: list[ModelInfo] = []
    for name, ep in installed().items():
        info = ModelInfo(
            name=name,
            entry_point=ep.value,
            distribution=ep.dist.name if ep.dist is not None else None,
            version=ep.dist.version if ep.dist is not None else None,
            builtin=name in own,
        )
        try:
            entry = load_entry(name)
            info.summary = str(entry.summary)
            info.params_schema = entry.params.model_json_schema()
            info.params = param_table(info.params_schema)
        except Exception as exc:  # noqa: BLE001 - any broken plugin is listed with its error
            info.error = str(exc) if isinstance(exc, ValueError) else repr(exc)
        models.append(info)
    return models


def _render(models: list[ModelInfo]) -> str:
    if not models:
        return "no signal models installed (entry point group engine_alpha.signal_models)"
    blocks: list[str] = []
    for m in models:
        source = f"{m.distribution or '?'} {m.version or ''}".strip()
        kind = ", built in" if m.builtin else ""
        lines = [f"{m.name}  ({source}{kind}: {m.entry_point})"]
        if m.error is not None:
            lines.append(f"  error: {m.error}")
        else:
            lines.append(f"  {m.summary}")
            width = max((len(p.name) for p in m.params), default=0)
            kinds = max((len(p.type) for p in m.params), default=0)
            defaults = [orjson.dumps(p.default).decode() for p in m.params]
            shown = max(map(len, defaults), default=0)
            for p, default in zip(m.params, defaults, strict=True):
                row = f"    {p.name:<{width}}  {p.type:<{kinds}}  {default:<{shown}}"
                lines.append(f"{row}  {p.description}" if p.description else row.rstrip())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _cmd_models(args: argparse.Namespace) -> int:
    models = describe_installed()
    if args.json:
        data = {"models": [asdict(m) for m in models]}
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(_render(models))
    return EXIT_FAILED if any(m.error is not None for m in models) else EXIT_OK


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add `models` to the `chloe` subcommands; its handler is `args.handler`."""
    parser = subparsers.add_parser("models", help=_HELP, description=_HELP)
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.set_defaults(handler=_cmd_models)
    return parser
