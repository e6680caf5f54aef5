"""Errors in the cloud's own words.

ARM answers ``{"error": {"code", "message"}}``; Graph answers the same envelope with
``innerError``; Entra answers OAuth2 errors (``error``, ``error_description``,
``error_codes``). Handlers raise these; the dispatcher renders them.
"""

from __future__ import annotations

from typing import Any


class CloudError(Exception):
    """An error response. ``body`` is rendered as JSON with ``status``."""

    def __init__(
        self,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def arm_error(status: int, code: str, message: str, **headers: str) -> CloudError:
    return CloudError(status, {"error": {"code": code, "message": message}}, headers)


def not_found(resource_type: str, name: str, group: str | None = None) -> CloudError:
    where = f" under resource group '{group}'" if group else ""
    return arm_error(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}'{where} was not found. For more details please "
        "go to https://aka.ms/ARMResourceNotFoundFix",
    )


def group_not_found(group: str) -> CloudError:
    return arm_error(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")


def subscription_not_found(sub: str) -> CloudError:
    return arm_error(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")


def bad_request(code: str, message: str) -> CloudError:
    return arm_error(400, code, message)


def graph_error(status: int, code: str, message: str) -> CloudError:
    return CloudError(
        status,
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {"date": "", "request-id": "", "client-request-id": ""},
            }
        },
    )
