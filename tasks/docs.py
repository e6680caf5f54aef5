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


def fixes_markdown() -> str:
    """The fix catalogue: each fix's facts as its class declares them."""
    from tasks.fix import load_fixes

    rows = ["| fix | risk | resolves | ARM rights pullfix needs (roles that grant them) | "
            "other rights | reversible | Azure honours it later |", "|---|---|---|---|---|---|---|"]
    for name, cls in sorted(load_fixes().items()):
        rights = "; ".join(f"`{n.action}` on {n.on.describe} ({n.roles})"
                           for n in cls.permissions) or "-"
        rows.append(f"| `{name}` | {cls.risk.value} | "
                    f"{', '.join(f'`{c}`' for c in cls.resolves) or '-'} | {rights} | "
                    f"{cls.other_rights or '-'} | {'yes' if cls.reversible else 'no'} | "
                    f"{cls.propagates or '-'} |")
    return "\n".join(rows)
