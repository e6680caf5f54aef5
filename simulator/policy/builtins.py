"""Built-in Azure Policy definitions the ACR scenarios need (ids and names as in Azure).

Their rules are the published rules reduced to the fields the simulator models; the effect is
a parameter, as in Azure, so an assignment's ``parameters.effect`` (or the default) decides.
"""

from __future__ import annotations

from typing import Any

ACR = "Microsoft.ContainerRegistry/registries"
CONTRIBUTOR = "/providers/microsoft.authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"


def _effect(allowed: list[str], default: str) -> dict[str, Any]:
    return {"effect": {"type": "String", "metadata": {
        "displayName": "Effect", "description": "Enable or disable the execution of the policy"},
        "allowedValues": allowed, "defaultValue": default}}


def _if(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"allOf": [{"field": "type", "equals": ACR}, *conditions]}


_AUDIT_DENY = ["Audit", "Deny", "Disabled"]

_DEFS: list[tuple[str, str, str, str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("d0793b48-0edc-4296-a390-4c75d1bdfd71",
     "Container registries should not allow unrestricted network access", "2.0.0",
     "Azure container registries by default accept connections over the internet from hosts "
     "on any network. To protect your registries from potential threats, allow access from "
     "only specific private endpoints, public IP addresses or address ranges.",
     _effect(_AUDIT_DENY, "Audit"),
     _if({"field": f"{ACR}/publicNetworkAccess", "notEquals": "Disabled"},
         {"field": f"{ACR}/networkRuleSet.defaultAction", "equals": "Allow"}),
     {"effect": "[parameters('effect')]"}),
    ("0fdf0491-d080-4575-b627-ad0e843cba0f",
     "Container registries should disable public network access", "1.0.0",
     "Disabling public network access improves security by ensuring that container registries "
     "are not exposed on the public internet.",
     _effect(_AUDIT_DENY, "Audit"),
     _if({"field": f"{ACR}/publicNetworkAccess", "notEquals": "Disabled"}),
     {"effect": "[parameters('effect')]"}),
    ("a3701552-92ea-433e-9d17-33b7f1208fc9",
     "Configure Container registries to disable public network access", "1.0.0",
     "Disable public network access for your Container Registry resource so that it's not "
     "accessible over the public internet.",
     _effect(["Modify", "Disabled"], "Modify"),
     _if({"field": f"{ACR}/publicNetworkAccess", "notEquals": "Disabled"}),
     {"effect": "[parameters('effect')]", "details": {
         "roleDefinitionIds": [CONTRIBUTOR], "conflictEffect": "audit",
         "operations": [{"condition": "[greaterOrEquals(requestContext().apiVersion, "
                                      "'2019-12-01-preview')]",
                         "operation": "addOrReplace", "field": f"{ACR}/publicNetworkAccess",
                         "value": "Disabled"}]}}),
    ("dc921057-6b28-4fbe-9b83-f7bec05db6c2",
     "Container registries should have local admin account disabled", "1.0.1",
     "Disable admin accounts for your registry so that it is not accessible by local admin.",
     _effect(_AUDIT_DENY, "Audit"),
     _if({"field": f"{ACR}/adminUserEnabled", "equals": True}),
     {"effect": "[parameters('effect')]"}),
    ("9f2dea28-e834-476c-99c5-3507b4728395",
     "Container registries should have anonymous authentication disabled", "1.0.0",
     "Disable anonymous pull for your registry so that data is not accessible by "
     "unauthenticated users.",
     _effect(_AUDIT_DENY, "Audit"),
     _if({"field": f"{ACR}/anonymousPullEnabled", "equals": True}),
     {"effect": "[parameters('effect')]"}),
]


def builtin_definitions() -> list[dict[str, Any]]:
    out = []
    for name, display, version, description, params, rule_if, then in _DEFS:
        out.append({
            "properties": {
                "displayName": display, "policyType": "BuiltIn", "mode": "Indexed",
                "description": description,
                "metadata": {"version": version, "category": "Container Registry"},
                "version": version, "parameters": params,
                "policyRule": {"if": rule_if, "then": then}, "versions": [version],
            },
            "id": f"/providers/Microsoft.Authorization/policyDefinitions/{name}",
            "type": "Microsoft.Authorization/policyDefinitions",
            "name": name,
            "systemData": {"createdBy": None, "createdByType": None,
                           "createdAt": "2021-01-01T00:00:00.0000000Z", "lastModifiedBy": None,
                           "lastModifiedByType": None,
                           "lastModifiedAt": "2024-01-01T00:00:00.0000000Z"},
        })
    return out
