"""What Graph v1.0 renders for each directory object type.

The property names are the structural properties of the v1.0 metadata
(``msgraph-metadata/schemas/v1.0-Prod.csdl``); a ``*`` marks a collection. Graph answers a
plain GET with every property it returns by default, unset ones as ``null`` or ``[]``, so the
SDK and ``az`` see the same keys they see in production; ``$select`` may name any property.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.core.world import public

_APPLICATION = """
*addIns api appId applicationTemplateId *appRoles authenticationBehaviors certification
createdByAppId createdDateTime defaultRedirectUri description disabledByMicrosoftStatus displayName
groupMembershipClaims *identifierUris info isDeviceOnlyAuthSupported isDisabled
isFallbackPublicClient *keyCredentials logo *managerApplications nativeAuthenticationApisEnabled
notes oauth2RequirePostResponse optionalClaims parentalControlSettings *passwordCredentials
publicClient publisherDomain requestSignatureVerification *requiredResourceAccess samlMetadataUrl
serviceManagementReference servicePrincipalLockConfiguration signInAudience spa *tags
tokenEncryptionKeyId uniqueName verifiedPublisher web
"""
_SERVICE_PRINCIPAL = """
accountEnabled *addIns *alternativeNames appDescription appDisplayName appId applicationTemplateId
appOwnerOrganizationId appRoleAssignmentRequired *appRoles createdByAppId customSecurityAttributes
description disabledByMicrosoftStatus displayName homepage info isDisabled *keyCredentials loginUrl
logoutUrl notes *notificationEmailAddresses *oauth2PermissionScopes *passwordCredentials
preferredSingleSignOnMode preferredTokenSigningKeyThumbprint *replyUrls
*resourceSpecificApplicationPermissions samlSingleSignOnSettings *servicePrincipalNames
servicePrincipalType signInAudience *tags tokenEncryptionKeyId verifiedPublisher
"""
_USER = """
aboutMe accountEnabled ageGroup *assignedLicenses *assignedPlans authorizationInfo birthday
*businessPhones city companyName consentProvidedForMinor country createdDateTime creationType
customSecurityAttributes department deviceEnrollmentLimit displayName employeeHireDate employeeId
employeeLeaveDateTime employeeOrgData employeeType externalUserState externalUserStateChangeDateTime
faxNumber givenName hireDate *identities identityParentId *imAddresses *interests
isManagementRestricted isResourceAccount jobTitle lastPasswordChangeDateTime
legalAgeGroupClassification *licenseAssignmentStates mail mailboxSettings mailNickname mobilePhone
mySite officeLocation onPremisesDistinguishedName onPremisesDomainName onPremisesExtensionAttributes
onPremisesImmutableId onPremisesLastSyncDateTime *onPremisesProvisioningErrors
onPremisesSamAccountName onPremisesSecurityIdentifier onPremisesSyncEnabled
onPremisesUserPrincipalName *otherMails passwordPolicies passwordProfile *pastProjects postalCode
preferredDataLocation preferredLanguage preferredName print *provisionedPlans *proxyAddresses
*responsibilities *schools securityIdentifier *serviceProvisioningErrors showInAddressList
signInActivity signInSessionsValidFromDateTime *skills state streetAddress surname usageLocation
userPrincipalName userType
"""
_GROUP = """
accessType allowExternalSenders *assignedLabels *assignedLicenses autoSubscribeNewMembers
classification createdDateTime description displayName expirationDateTime *groupTypes
hasMembersWithLicenseErrors hideFromAddressLists hideFromOutlookClients *infoCatalogs isArchived
isAssignableToRole isFavorite isManagementRestricted isSubscribedByMail licenseProcessingState mail
mailEnabled mailNickname membershipRule membershipRuleProcessingState onPremisesDomainName
onPremisesExtensionAttributes onPremisesLastSyncDateTime onPremisesNetBiosName
*onPremisesProvisioningErrors onPremisesSamAccountName onPremisesSecurityIdentifier
onPremisesSyncEnabled organizationId preferredDataLocation preferredLanguage *proxyAddresses
renewedDateTime *resourceBehaviorOptions *resourceProvisioningOptions securityEnabled
securityIdentifier *serviceProvisioningErrors theme uniqueName unseenConversationsCount unseenCount
unseenMessagesCount visibility welcomeMessageEnabled
"""

# Properties Graph returns only when $select names them (documented per resource type).
_SELECT_ONLY = {
    "application": "logo authenticationBehaviors managerApplications",
    "servicePrincipal": "customSecurityAttributes",
    "group": "accessType allowExternalSenders assignedLabels assignedLicenses "
             "autoSubscribeNewMembers hasMembersWithLicenseErrors hideFromAddressLists "
             "hideFromOutlookClients infoCatalogs isArchived isFavorite isManagementRestricted "
             "isSubscribedByMail licenseProcessingState unseenConversationsCount unseenCount "
             "unseenMessagesCount welcomeMessageEnabled organizationId uniqueName",
}
# users are the exception: a plain GET returns only this small set
_USER_DEFAULT = ("businessPhones displayName givenName jobTitle mail mobilePhone officeLocation "
                 "preferredLanguage surname userPrincipalName")


@dataclass(frozen=True)
class Shape:
    type_name: str  # microsoft.graph.<type_name>
    collection: str  # the entity set: applications, servicePrincipals, users, groups
    properties: dict[str, Any]  # every property -> its unset value (None or [])
    default: tuple[str, ...]  # what a plain GET returns, in Graph's order

    @property
    def odata_type(self) -> str:
        return f"#microsoft.graph.{self.type_name}"

    def property_name(self, name: str) -> str | None:
        """The canonical spelling of a property ($select and $filter are case-insensitive)."""
        for p in self.properties:
            if p.lower() == name.lower():
                return p
        return None

    def render(self, doc: dict[str, Any], select: list[str] | None = None) -> dict[str, Any]:
        names = select if select is not None else list(self.default)
        out: dict[str, Any] = {}
        for name in names:
            # public(): nested private keys (a credential's secret hash) never leave
            out[name] = public(doc.get(name, self.properties.get(name)))
        return out


def _shape(type_name: str, collection: str, spec: str, default: str | None = None) -> Shape:
    props: dict[str, Any] = {"id": None, "deletedDateTime": None}
    for word in spec.split():
        props[word.lstrip("*")] = [] if word.startswith("*") else None
    if default is not None:
        chosen = ["id", *default.split()]
    else:
        hidden = set(_SELECT_ONLY.get(type_name, "").split())
        chosen = [p for p in props if p not in hidden]
    return Shape(type_name, collection, props, tuple(chosen))


SHAPES: dict[str, Shape] = {
    s.collection: s for s in (
        _shape("application", "applications", _APPLICATION),
        _shape("servicePrincipal", "servicePrincipals", _SERVICE_PRINCIPAL),
        _shape("user", "users", _USER, _USER_DEFAULT),
        _shape("group", "groups", _GROUP),
    )
}
BY_TYPE: dict[str, Shape] = {s.type_name.lower(): s for s in SHAPES.values()}
