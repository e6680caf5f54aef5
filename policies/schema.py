"""The policy JSON Schema, generated from the models (fix names included, as the ``enum`` of
the ``fixes`` keys) and committed as ``policies/schema.json`` for editors
(``# yaml-language-server: $schema=schema.json``). A test fails when the file drifts.

Regenerate: ``.venv/bin/python -m policies.schema > policies/schema.json``
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from policies.model import FIX_RISKS, Policy
from tasks.fix import Risk

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.json"
REGENERATE = ".venv/bin/python -m policies.schema > policies/schema.json"


def _no_auto_on_high_risk(node: Any) -> None:
    """Where a mapping is keyed by fix name, forbid ``auto`` on the high-risk ones, so an
    editor flags the same mistake the model rejects."""
    if isinstance(node, dict):
        if "propertyNames" in node and node.get("additionalProperties") == {"$ref": "#/$defs/FixRule"}:
            node["properties"] = {
                name: {"$ref": "#/$defs/FixRule", "properties": {"decision": {"not": {"const": "auto"}}}}
                for name, risk in FIX_RISKS.items() if risk == Risk.HIGH}
        for value in node.values():
            _no_auto_on_high_risk(value)
    elif isinstance(node, list):
        for value in node:
            _no_auto_on_high_risk(value)


def generate_schema() -> dict[str, Any]:
    schema = Policy.model_json_schema()
    _no_auto_on_high_risk(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://pullfix.dev/schemas/policy.json",
            "title": "pullfix policy",
            "description": "Which fixes pullfix applies by itself (auto), which wait for a person "
                           "(sign-off) and which never (deny); where, when and how many.",
            **{k: v for k, v in schema.items() if k not in ("title", "description")}}


def render_schema() -> str:
    return json.dumps(generate_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render_schema(), end="")
