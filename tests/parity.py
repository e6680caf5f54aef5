"""Compare the simulator's answers with the official x-ms-examples in ../shared/azure-specs.

``shape_diff(example, actual)`` lists every key the example has that the simulator's answer
lacks, and every value whose JSON type differs. A test may name paths it deliberately does
not model (``ignore``), each with a reason in the test; everything else must match.
"""

from __future__ import annotations

import csv
import fnmatch
import json
from pathlib import Path
from typing import Any

SPECS = Path(__file__).resolve().parent.parent.parent / "shared" / "azure-specs"


def operations() -> dict[str, dict[str, str]]:
    with open(SPECS / "OPERATIONS.tsv", newline="") as fh:
        return {row["operationId"]: row for row in csv.DictReader(fh, delimiter="\t")}


def example(relpath: str) -> dict[str, Any]:
    return json.loads((SPECS / relpath).read_text())


def example_for(operation_id: str, name_contains: str = "") -> dict[str, Any]:
    """The (first) official example of an operation, optionally the one whose file name
    contains ``name_contains``."""
    files = operations()[operation_id]["examples_copied"].split()
    for f in files:
        if name_contains in Path(f).name:
            return example(f)
    raise KeyError(f"{operation_id}: no example matching {name_contains!r} in {files}")


def example_response(operation_id: str, status: str = "200", name_contains: str = "") -> Any:
    return example_for(operation_id, name_contains)["responses"][status]["body"]


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def shape_diff(expected: Any, actual: Any, path: str = "$", ignore: tuple[str, ...] = ()
               ) -> list[str]:
    if any(fnmatch.fnmatchcase(path, pat) for pat in ignore):
        return []
    ek, ak = _kind(expected), _kind(actual)
    if ek == "null":
        return []
    if ek != ak:
        return [f"{path}: expected {ek}, got {ak}"]
    out: list[str] = []
    if ek == "object":
        for k, v in expected.items():
            if k not in actual:
                if not any(fnmatch.fnmatchcase(f"{path}.{k}", pat) for pat in ignore):
                    out.append(f"{path}.{k}: missing")
                continue
            out += shape_diff(v, actual[k], f"{path}.{k}", ignore)
    elif ek == "array" and expected:
        if not actual:
            return [f"{path}: expected a non-empty array like the example"]
        for i, item in enumerate(actual):
            out += shape_diff(expected[0], item, f"{path}[{i}]" if i else f"{path}[]", ignore)
            break
    return out
