"""An approval token approves one request, once (tasks.approval.bind_token): issued after the
sign-off was requested (Entra backdates iat by five minutes, so that much is allowed), its
unique token id recorded in the audit store and refused if seen again."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tasks.approval import ENTRA_BACKDATE_SECONDS, ApprovalError, bind_token

ASKED = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _claims(issued: dt.datetime, uti: str | None = None) -> dict[str, object]:
    return {"iat": int(issued.timestamp()), "uti": uti or uuid.uuid4().hex}


def test_a_token_requested_after_the_sign_off_is_accepted_with_entras_backdating() -> None:
    # Entra's iat is five minutes before the token was requested, a few seconds after the ask
    claims = _claims(ASKED + dt.timedelta(seconds=5 - ENTRA_BACKDATE_SECONDS))
    assert bind_token(claims, asked_at=ASKED, run_id="r1", plan_hash="p" * 64,
                      approver="a") == claims["uti"]


def test_a_token_issued_before_the_sign_off_was_requested_is_refused() -> None:
    claims = _claims(ASKED - dt.timedelta(minutes=20))
    with pytest.raises(ApprovalError, match="before this sign-off was requested"):
        bind_token(claims, asked_at=ASKED, run_id="r1", plan_hash="p" * 64, approver="a")


def test_a_token_is_accepted_once() -> None:
    claims = _claims(ASKED)
    bind_token(claims, asked_at=ASKED, run_id="run-one", plan_hash="a" * 64, approver="a")
    with pytest.raises(ApprovalError, match="was already used \\(run run-one, plan aaaaaaaaaaaa"):
        bind_token(claims, asked_at=ASKED, run_id="run-two", plan_hash="b" * 64, approver="a")


def test_a_token_without_a_unique_id_cannot_be_bound() -> None:
    with pytest.raises(ApprovalError, match="no unique token id"):
        bind_token({"iat": int(ASKED.timestamp())}, asked_at=ASKED, run_id="r",
                   plan_hash="p" * 64, approver="a")
