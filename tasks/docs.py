"""Documentation generated from the registries (the README's checks table), so the docs
cannot drift from the code: a test compares them."""

from __future__ import annotations

from tasks.contract import Category
from tasks.registry import load_checks


def checks_markdown() -> str:
    rows = ["| check | group | runs for | suggests | reads it needs |", "|---|---|---|---|---|"]
    for name, spec in sorted(load_checks().items()):
        if spec.cluster_wide:
            scope = "each cluster"
        elif spec.categories >= set(Category):
            scope = "any pull error"
        else:
            scope = ", ".join(sorted(c.value for c in spec.categories)) + " (or ambiguous)"
        rows.append(f"| `{name}` | {spec.group.value} | {scope} | "
                    f"{', '.join(f'`{s}`' for s in spec.suggests) or 'report only'} | "
                    f"{', '.join(f'`{p}`' for p in spec.permissions) or '-'} |")
    return "\n".join(rows)
