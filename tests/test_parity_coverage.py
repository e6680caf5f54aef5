"""Every control-plane operation in ../shared/azure-specs/OPERATIONS.tsv is compared with its
official example somewhere in the test suite (via tests.parity.example_response/example_for).

The registry data plane (/v2/, /acr/v1/, /oauth2/) belongs to the data-plane simulator and is
checked by its own tests.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.parity import operations

DATA_PLANE = ("ContainerRegistry_", "ContainerRegistryBlob_", "Authentication_")


def test_every_control_plane_operation_has_a_parity_check() -> None:
    sources = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    wanted = {op for op in operations() if not op.startswith(DATA_PLANE)}
    # parity tests name the operation as a string literal (directly or in a parametrize table)
    checked = set(re.findall(r"""["']([A-Za-z]+_[A-Za-z]+)["']""", sources)) & wanted
    missing = sorted(wanted - checked)
    assert missing == [], f"operations without a parity check: {missing}"
