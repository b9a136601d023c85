"""JSON Schemas of the two config files, generated from the models so editors can check them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine_alpha.config.config_loader import PAPER_FILE, PROFILER_FILE
from engine_alpha.config.models import PaperConfig, StrategyProfiler

SCHEMA_DIR = "schema"


def schema_files() -> dict[str, str]:
    """File name -> schema text for `config/schema/`."""
    out: dict[str, str] = {}
    for file_name, model in ((PROFILER_FILE, StrategyProfiler), (PAPER_FILE, PaperConfig)):
        schema: dict[str, Any] = model.model_json_schema(by_alias=True)
        schema["$id"] = file_name.replace(".json", ".schema.json")
        out[schema["$id"]] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


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
