"""JSON Schemas of the two config files, generated from the models so editors can check them.

A profile's `signal_model` is documented per model: one alternative for each model named (by
default every installed one), its `params` the model's own parameter schema.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import PAPER_FILE, PROFILER_FILE
from engine_alpha.config.models import PaperConfig, StrategyProfiler
from engine_alpha.config.signal_models import builtin, installed, load_entry

SCHEMA_DIR = "schema"
_CHOICE = "SignalModelChoice"


def _renamed_refs(node: Any, prefix: str) -> Any:
    """`node` with each `#/$defs/X` reference turned into `#/$defs/<prefix>X`."""
    if isinstance(node, dict):
        return {
            key: (
                value.replace("#/$defs/", f"#/$defs/{prefix}", 1)
                if key == "$ref" and isinstance(value, str)
                else _renamed_refs(value, prefix)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_renamed_refs(item, prefix) for item in node]
    return node


def _document_models(schema: dict[str, Any], models: Sequence[str]) -> None:
    """Replace the generic `signal_model` schema by one alternative per model."""
    defs: dict[str, Any] = schema["$defs"]
    generic = defs[_CHOICE]
    alternatives = []
    for name in models:
        entry = load_entry(name)
        prefix = f"{name}."
        params = _renamed_refs(entry.params.model_json_schema(), prefix)
        for def_name, definition in params.pop("$defs", {}).items():
            defs[prefix + def_name] = definition
        params["description"] = entry.summary
        alternatives.append(
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {"name": {"const": name}, "params": params},
                "required": ["name"],
            }
        )
    defs[_CHOICE] = {
        "title": generic.get("title", _CHOICE),
        "description": generic.get("description", ""),
        "oneOf": alternatives,
    }


def schema_files(models: Sequence[str] | None = None) -> dict[str, str]:
    """File name -> schema text for `config/schema/`, documenting `models` (default: every
    installed model; the repo's committed schemas document the built-in ones)."""
    out: dict[str, str] = {}
    for file_name, model in ((PROFILER_FILE, StrategyProfiler), (PAPER_FILE, PaperConfig)):
        schema: dict[str, Any] = model.model_json_schema(by_alias=True)
        if model is StrategyProfiler:
            _document_models(schema, list(installed()) if models is None else models)
        schema["$id"] = file_name.replace(".json", ".schema.json")
        out[schema["$id"]] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def builtin_schema_files() -> dict[str, str]:
    """The schemas as the repo commits them: the built-in models only."""
    return schema_files(builtin())


def write_schemas(config_dir: Path) -> list[Path]:
    """Write both schemas under `config_dir/schema/`; returns the paths written."""
    target = config_dir / SCHEMA_DIR
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_files().items():
        path = target / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
