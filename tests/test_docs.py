"""The README's checks table is generated from the check registry and must not drift."""

from __future__ import annotations

import re

from tasks.docs import checks_markdown
from tasks.registry import load_checks
from tests.simharness import ROOT


def test_readme_checks_table_matches_the_registry() -> None:
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- checks:begin -->\n(.*?)\n<!-- checks:end -->", readme, re.S)
    assert m, "README.md lacks the <!-- checks:begin/end --> block"
    assert m.group(1) == checks_markdown(), (
        "README's checks table is stale: regenerate it with `.venv/bin/pullfix checks`")


def test_every_check_documents_itself() -> None:
    for name, spec in load_checks().items():
        assert len(spec.doc) > 200, f"{name}: the module docstring says the failure mode, the " \
                                    "kubelet text, the evidence and the fixes"
        assert name == spec.fn.__module__.rsplit(".", 1)[-1].replace("_", "-") or \
            name.startswith("image-arch"), f"{name}: module name follows the check name"


def test_the_readme_fix_table_is_generated_from_the_fix_registry() -> None:
    from tasks.docs import fixes_markdown

    readme = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- fixes:begin -->\n(.*?)\n<!-- fixes:end -->", readme, re.S)
    assert m, "README.md lacks the <!-- fixes:begin/end --> block"
    assert m.group(1) == fixes_markdown(), "regenerate the table: .venv/bin/pullfix fixes"
