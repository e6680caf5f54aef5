"""How a command fails: one line on stderr naming the thing and what to do, and the exit code
of its kind (``flows.cli.exit_codes``) — never a traceback for a missing credential, an
unreachable server or bad input.

Commands call :func:`fail` for what they check themselves. Everything else that escapes a
command goes through :class:`PullfixGroup`, the root group's ``invoke``, which reads the
exception (and its causes) with :func:`explain`. Only an exception nobody anticipated — a
bug — prints its traceback (without local variables: they may hold secrets), exit 3.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, TyperException

from flows.cli.exit_codes import ExitCode

CREDENTIAL_HELP = ("set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (a service "
                   "principal), or run with a workload identity (AZURE_FEDERATED_TOKEN_FILE) or a "
                   "managed identity")


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """Print ``pullfix: <message>`` (each line prefixed) on stderr and exit with ``code``."""
    typer.echo("\n".join(f"pullfix: {line}" for line in message.splitlines()), err=True)
    raise typer.Exit(int(code))


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _credential(exc: Exception) -> str:
    """DefaultAzureCredential's many-line report as one line: none was configured, or the one
    that was refused the sign-in (Entra's AADSTS code and first sentence; never a secret)."""
    text = str(exc)
    refused = re.search(r"^\s*(\w+Credential): (?:Authentication failed: )?(AADSTS\d+:[^.\n]*)",
                        text, re.M)
    if refused:
        return (f"Azure sign-in failed ({refused.group(1)}): {refused.group(2).strip()}; check "
                "AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID")
    if "DefaultAzureCredential failed" in text or "unavailable" in text:
        return f"no Azure credential found: {CREDENTIAL_HELP}"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"Azure sign-in failed: {first}; check the credential ({CREDENTIAL_HELP})"


def _prefect_api() -> str:
    try:
        from prefect.settings import PREFECT_API_URL

        return str(PREFECT_API_URL.value() or "")
    except Exception:  # noqa: BLE001 - only used to name the server in a message
        return os.environ.get("PREFECT_API_URL", "")


def explain(exc: BaseException) -> tuple[ExitCode, str] | None:
    """(exit code, one-line message) for an exception pullfix knows how to explain, else
    None. The first recognised exception in the cause chain decides."""
    import httpx
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    from policies.model import PolicyError
    from tasks.cloud import CloudProfileError
    from tasks.errors import PermanentError, TransientError, describe

    for e in _chain(exc):
        if isinstance(e, CloudProfileError):
            unreachable = isinstance(e.__cause__, OSError)
            return (ExitCode.CANNOT_RUN if unreachable else ExitCode.USAGE), str(e)
        if isinstance(e, ClientAuthenticationError):
            return ExitCode.CANNOT_RUN, _credential(e)
        if isinstance(e, ServiceRequestError | ServiceResponseError):
            return ExitCode.CANNOT_RUN, (f"cannot reach Azure: {describe(e)}; check the network "
                                         "and PULLFIX_ARM_ENDPOINT / PULLFIX_CLOUD")
        if isinstance(e, HttpResponseError) and e.status_code == 429:
            return ExitCode.CANNOT_RUN, (f"Azure throttled pullfix beyond its retries ({describe(e)})"
                                         "; try again later or lower --rate")
        if isinstance(e, HttpResponseError) and (e.status_code or 0) >= 500:
            return ExitCode.CANNOT_RUN, f"Azure failed beyond pullfix's retries: {describe(e)}"
        if isinstance(e, httpx.TransportError):
            url = str(e.request.url) if getattr(e, "_request", None) is not None else ""
            api = _prefect_api()
            reason = str(e).strip() or type(e).__name__
            if not url or (api and url.startswith(api.rstrip("/"))):
                return ExitCode.CANNOT_RUN, (
                    f"cannot reach the Prefect API at {api or '(ephemeral)'}: {reason}; start the "
                    "server (`prefect server start`) or set PREFECT_API_URL to one that runs")
            return ExitCode.CANNOT_RUN, f"cannot reach {url}: {reason}"
        if isinstance(e, PolicyError):
            return ExitCode.USAGE, str(e)
        if isinstance(e, TransientError):
            return ExitCode.CANNOT_RUN, f"{e}; try again later"
        if isinstance(e, PermanentError):
            return ExitCode.USAGE, str(e)
    sa_error = _database(exc)
    if sa_error:
        return ExitCode.CANNOT_RUN, sa_error
    for e in _chain(exc):
        if isinstance(e, ConnectionError | TimeoutError):
            return ExitCode.CANNOT_RUN, f"could not connect: {e}"
    return None


def _database(exc: BaseException) -> str | None:
    try:
        import sqlalchemy as sa
    except ImportError:  # pragma: no cover - a dependency
        return None
    for e in _chain(exc):
        if isinstance(e, sa.exc.OperationalError):
            reason = str(getattr(e, "orig", None) or e).splitlines()[0]
            return (f"cannot use the audit store: {reason} (check PULLFIX_AUDIT_URL / "
                    "PULLFIX_HOME)")
    return None


class PullfixGroup(TyperGroup):
    """The root command group: every command's unexpected exception becomes one line and its
    exit code (see the module docstring)."""

    def invoke(self, ctx: Any) -> Any:
        from flows.heap import freeze_at_exit

        freeze_at_exit()
        try:
            return super().invoke(ctx)
        except (typer.Exit, TyperException, Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - this is the one place that explains them
            known = explain(exc)
            if known is None:
                traceback.print_exception(exc, file=sys.stderr)
                fail(f"unexpected error ({type(exc).__name__}); the traceback above says where "
                     "— please report it", ExitCode.CANNOT_RUN)
            fail(known[1], known[0])
