"""The Prefect UI, checked as a person would: headless Chromium (Debian's package, driven by
Playwright) opens the UI of the real local Prefect server on a plan sweep's run and on a
remediation paused for sign-off, and saves screenshots; the approval form shows the plan an
approver is asked to sign off (its summary and hash), so the person approving sees what
they approve."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import get_client, tags
from prefect.settings import PREFECT_API_URL

from flows.cli.signoff import _description
from simulator.scenario import stable_uuid
from tests.scenariolib import WORKER_TAG
from tests.simharness import Sim
from tests.test_remediate_signoff import _finish, _record, _run_in_background, _token, _wait_paused

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# the flags that keep Chromium off the network it cannot reach (and quick to start)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.scenario("kubelet-identity-removed-from-vmss")


def _shots_dir(tmp_path: Path) -> Path:
    """Where screenshots go: ``PULLFIX_SCREENSHOTS`` when set (CI keeps them), else the
    test's temporary folder."""
    out = Path(os.environ.get("PULLFIX_SCREENSHOTS") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `bash scripts/setup.sh` (it installs "
                           "Debian's chromium package)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def _ui() -> str:
    """The UI is served by the same server as the API, at its root."""
    api = str(PREFECT_API_URL.value() or "")
    assert api.endswith("/api"), f"PREFECT_API_URL is {api!r}: the tests need a real server"
    return api[: -len("/api")]


def _text_when(page: Any, pattern: str, seconds: float = 60) -> str:
    """The page's text once ``pattern`` appears in it (the UI renders after its API calls)."""
    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        text = page.inner_text("body")
        if re.search(pattern, text):
            return text
        page.wait_for_timeout(500)
    raise AssertionError(f"{pattern!r} never appeared on {page.url}:\n{text[:3000]}")


def _submit(page: Any, form: Any, run_id: Any, seconds: float = 90) -> None:
    """Submit the Resume form and wait until the run leaves Paused. On a loaded machine the
    first click can land before the form takes it (the dialog stays open, the run stays
    paused): after 15 s it is clicked once more, as a person would."""
    form.get_by_role("button", name="Submit").click()
    start = time.monotonic()
    again = False
    while time.monotonic() - start < seconds:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(run_id).state
        if state is not None and state.type.value != "PAUSED":
            return
        if not again and time.monotonic() - start > 15 and form.is_visible():
            form.get_by_role("button", name="Submit").click()
            again = True
        page.wait_for_timeout(500)
    raise AssertionError(f"the run stayed paused after Submit:\n{page.inner_text('body')[:3000]}")


def test_the_ui_shows_a_plan_sweep_and_the_plan_an_approver_signs_off(
        sim: Sim, sim_env: Callable[[Sim], None], prefect_harness: None, browser: Any,
        tmp_path: Path) -> None:
    from flows.sweep import fleet_sweep

    sim_env(sim)
    shots = _shots_dir(tmp_path)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})

    # given a plan sweep of the fleet, as its own flow run
    with tags(WORKER_TAG, "ui-sweep"):
        fleet_sweep(mode="plan")
    with get_client(sync_client=True) as client:
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

        [sweep] = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[WORKER_TAG, "ui-sweep"])), limit=1)
    # when a person opens the sweep's run in the UI
    page.goto(f"{_ui()}/runs/flow-run/{sweep.id}")
    text = _text_when(page, sweep.name)
    page.screenshot(path=str(shots / "sweep-run.png"), full_page=True)
    # then they see the run, finished
    assert "Completed" in text, text[:2000]

    # given a remediation paused for sign-off
    t, out = _run_in_background()
    run = _wait_paused(out)
    plan_hash = re.search(r"\[plan ([0-9a-f]{64})\]", _description(run)).group(1)  # type: ignore[union-attr]
    # when the approver opens the paused run
    page.goto(f"{_ui()}/runs/flow-run/{run.id}")
    _text_when(page, "Paused")
    page.screenshot(path=str(shots / "sign-off-paused.png"), full_page=True)
    # and its approval form (Resume)
    page.get_by_role("button", name=re.compile("Resume")).first.click()
    text = _text_when(page, "Approve reconcile-cluster on aks-app")
    page.screenshot(path=str(shots / "sign-off-form.png"))
    # then the form shows the plan: what it changes, on which cluster, and its hash, with the
    # hash and this run's id filled in
    assert "PUT aks-app's current model back" in text, text[:3000]
    assert plan_hash[:16] in text
    form = page.get_by_role("dialog")
    assert plan_hash in [form.locator("textarea").nth(i).input_value() for i in range(2)]
    assert str(run.id) in [form.locator("textarea").nth(i).input_value() for i in range(2)]
    # when the approver signs in (a fresh token) and approves in the form
    form.locator("textarea").nth(2).fill(_token(sim, "alice-approver", "alice-approver-secret-0001"))
    form.get_by_role("switch").first.click()
    _submit(page, form, run.id)
    # then the flow verifies the approval, applies the fix and the pods pull
    rec = _record(_finish(t, out), "reconcile-cluster")
    assert rec["outcome"] == "applied", rec["reason"]
    assert rec["approval"]["approver"]["object_id"] == stable_uuid("sp-object", "alice-approver")
    page.goto(f"{_ui()}/runs/flow-run/{run.id}")
    _text_when(page, "Completed")
    page.screenshot(path=str(shots / "sign-off-approved.png"), full_page=True)
