"""The pull-error classifier against real messages, each copied from the public thread or
document quoted next to it (digests and signed URLs shortened), and against every message the
simulator's kubelet can render for each scenario cause.

Expected values are what the text itself supports; where the thread shows the text misled its
reporter (a 401 that was a missing tag, a 500 that was a wrong service principal) the case is
asserted ambiguous rather than right by luck.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from simulator.kubelet import messages as msg
from simulator.kubelet.messages import PullError, Wording
from simulator.kubelet.pull import CATEGORY
from simulator.kubelet.reference import parse
from tasks.classify import classify
from tasks.contract import Category

U, NF, FB, TO, PM, OT = ("unauthorized", "not_found", "forbidden", "timeout", "platform_mismatch",
                         "other")
MS = ("https://learn.microsoft.com/en-us/troubleshoot/azure/azure-kubernetes/connectivity/"
      "cannot-pull-image-from-acr-to-aks-cluster")
GH = "https://github.com/"


class Case(NamedTuple):
    source: str
    message: str
    category: str
    subcause: str | None = None
    ambiguous: bool = False
    facts: dict[str, Any] = {}  # extracted fields to check (runtime, registry_host, ...)


A = "<acrname>.azurecr.io/<repository:tag>"
REAL: list[Case] = [
    # -- unauthorized ------------------------------------------------------------------------------
    Case(MS + " (cause 1a)",
         f'Failed to pull image "{A}": [rpc error: code = Unknown desc = failed to pull and unpack '
         f'image "{A}": failed to resolve reference "{A}": failed to authorize: failed to fetch oauth '
         "token: unexpected status: 401 Unauthorized", U,
         facts={"credentials_sent": True, "http_status": 401, "runtime": "containerd",
                "registry_host": None, "image": A}),
    Case(GH + "Azure/AKS/issues/4459",
         'Failed to pull image "<registryname>.azurecr.io/main/<imagerepo>:v5.0.0": failed to pull and '
         'unpack image "<registryname>.azurecr.io/main/<imagerepo>:v5.0.0": failed to resolve reference '
         '"<registryname>.azurecr.io/main/<imagerepo>:v5.0.0": failed to authorize: failed to fetch '
         "anonymous token: unexpected status from GET request to https://<registryname>.azurecr.io/"
         "oauth2/token?scope=repository%3Amain%2F<imagerepo>%3Apull&service=<registryname>.azurecr.io: "
         "401 Unauthorized", U, ambiguous=True,
         facts={"credentials_sent": False, "http_status": 401, "runtime": "containerd"}),
    Case(GH + "Esri/arcgis-gitops/issues/168",
         'Failed to pull image "arcgisenterprise248c2940cb03b8d5.azurecr.io/docker-hub/esridocker/'
         'enterprise-admin:11.4.0.6285": [failed to pull and unpack image "arcgisenterprise248c2940cb0'
         '3b8d5.azurecr.io/docker-hub/esridocker/enterprise-admin:11.4.0.6285": failed to resolve '
         'reference "arcgisenterprise248c2940cb03b8d5.azurecr.io/docker-hub/esridocker/enterprise-admin'
         ':11.4.0.6285": failed to authorize: failed to fetch oauth token: unexpected status from GET '
         "request to https://arcgisenterprise248c2940cb03b8d5.azurecr.io/oauth2/token?scope=repository"
         "%3Adocker-hub%2Fesridocker%2Fenterprise-admin%3Apull&service=arcgisenterprise248c2940cb03b8d5"
         ".azurecr.io: 401 Unauthorized, rpc error: code = NotFound desc = failed to pull and unpack "
         'image "arcgisenterprise248c2940cb03b8d5.azurecr.io/docker-hub/esridocker/enterprise-admin:'
         '11.4.0.6285": failed to copy: httpReadSeeker: failed open: could not fetch content descriptor '
         "sha256:732cbede… (application/vnd.docker.image.rootfs.diff.tar.gzip) from remote: not found]",
         U, facts={"credentials_sent": True,
                   "registry_host": "arcgisenterprise248c2940cb03b8d5.azurecr.io"}),
    Case(GH + "dotnet/docs/issues/13401",
         'Failed to pull image "ugsampleacr.azurecr.io/mssampleaksapplication:v1": [rpc error: code = '
         "Unknown desc = Error response from daemon: Get https://ugsampleacr.azurecr.io/v2/"
         "mssampleaksapplication/manifests/v1: unauthorized: authentication required, rpc error: code "
         "= Unknown desc = Error response from daemon: Get https://ugsampleacr.azurecr.io/v2/"
         "mssampleaksapplication/manifests/v1: unauthorized: authentication required]", U,
         ambiguous=True, facts={"runtime": "dockerd", "http_status": 401,
                                "registry_host": "ugsampleacr.azurecr.io"}),
    # the thread: "my problem was that I didn't publish 'latest' tag" — why 401 alone is ambiguous
    Case(GH + "Azure/acr/issues/124",
         "Error response from daemon: Get https://mitrust.azurecr.io/v2/devlocalnodejs-mitrust/"
         "manifests/devlocalnodejs-20180827193841815-5c8e9c3: unauthorized: authentication required",
         U, ambiguous=True, facts={"registry_host": "mitrust.azurecr.io"}),
    Case(GH + "kubernetes/kubernetes/issues/92326",
         'Failed to pull image "<redacted>.azurecr.io/<redacted>": rpc error: code = Unknown desc = '
         "Error response from daemon: Get https://<redacted>.azurecr.io/v2/<redacted>: unauthorized: "
         "authentication required", U, ambiguous=True, facts={"registry_host": None}),
    Case(GH + "helm/helm/issues/12189",
         'Failed to pull image "smartsitealfaacr.azurecr.io/aem6.5-authbaseimage:v2": rpc error: code = '
         'Unknown desc = Error response from daemon: Head "https://smartsitealfaacr.azurecr.io/v2/'
         'aem6.5-authbaseimage/manifests/v2": unauthorized: authentication required, visit '
         "https://aka.ms/acr/authorization for more information.", U, ambiguous=True,
         facts={"image": "smartsitealfaacr.azurecr.io/aem6.5-authbaseimage:v2"}),
    Case(GH + "Azure/AKS/issues/679",
         'Failed to pull image "cloudtechnologies.azurecr.io/poc-k8s-web:20181007.1": rpc error: code = '
         "Unknown desc = Error response from daemon: Get https://cloudtechnologies.azurecr.io/v2/"
         "poc-k8s-web/manifests/20181007.1: unauthorized: authentication required", U, ambiguous=True),
    Case(GH + "microsoft/AzureTRE/issues/924",
         'DockerApiException: Docker API responded with status code=InternalServerError, response='
         '{"message":"Get https://****.azurecr.io/v2/microsoft/azuretre/api/manifests/dev: '
         'unauthorized: authentication required, visit https://aka.ms/acr/authorization for more '
         'information."}', U, ambiguous=True, facts={"registry_host": None}),
    Case(GH + "whiteducksoftware/az-dns-forwarder/issues/1",
         'Failed to pull image "ghcr.io/whiteducksoftware/az-dns-forwarder/az-dns-forwarder:latest" '
         "Error response from daemon: Get https://ghcr.io/v2/whiteducksoftware/az-dns-forwarder/"
         "az-dns-forwarder/manifests/latest: unauthorized", U, ambiguous=True,
         facts={"registry_host": "ghcr.io"}),
    Case(GH + "docker-library/tomcat/issues/321",
         "amazoncorretto:11-al2-jdk: failed to authorize: failed to fetch anonymous token: unexpected "
         "status: 401", U, ambiguous=True, facts={"credentials_sent": False, "http_status": 401}),
    Case(GH + "docker/docs/issues/22787",
         '(HTTP code 500) server error - error from registry: failed to resolve reference "docker.io/'
         'docker/welcome-to-docker:latest": failed to authorize: failed to fetch oauth token: unexpected '
         "status from GET request to https://auth.docker.io/token?scope=repository%3Adocker%2Fwelcome-"
         "to-docker%3Apull&service=registry.docker.io: 401 Unauthorized", U,
         facts={"credentials_sent": True, "registry_host": "docker.io"}),
    Case(GH + "gitpod-io/gitpod/issues/14837",
         '"proxy.replicated.com/proxy/gitpod/busybox:1": failed to resolve reference "proxy.replicated.'
         'com/proxy/gitpod/busybox:1": failed to authorize: failed to fetch oauth token: unexpected '
         "status: 401 Unauthorized", U, facts={"registry_host": "proxy.replicated.com"}),
    Case(GH + "juju/juju/issues/22050",
         "ctr: rpc error: code = Unknown desc = failed to resolve image: failed to authorize: failed to "
         "fetch oauth token: unexpected status from GET request to https://api.charmhub.io/v1/tokens/"
         "docker-registry?scope=repository%3Acharm%2Fb370bfzj7fqgsh1qaywdz04w5n6z835nu8kzg%2Fdashboard-"
         "image%3Apull&service=https%3A%2F%2Fregistry.jujucharms.com%2F: 401 UNAUTHORIZED", U,
         facts={"http_status": 401, "credentials_sent": True}),
    Case(GH + "kubernetes/kubernetes/issues/110678",
         'Failed to pull image "registry.app.xxx.net/XXXXX/partsgo42:GitActionsNew-2e7e78f7bb157128f1853'
         'b0dc06bf7ccd13156d7": rpc error: code = Unknown desc = failed to pull and unpack image '
         '"registry.app.xxx.net/spm2fog/partsgo42:GitActionsNew-2e7e78f7bb157128f1853b0dc06bf7ccd13156d7"'
         ': failed to resolve reference "registry.app.xxx.net/spm2fog/partsgo42:GitActionsNew-2e7e78f7bb'
         '157128f1853b0dc06bf7ccd13156d7": pulling from host registry.app.xxx.net failed with status code'
         " [manifests GitActionsNew-2e7e78f7bb157128f1853b0dc06bf7ccd13156d7]: 401 Unauthorized", U,
         ambiguous=True, facts={"runtime": "containerd", "http_status": 401}),
    Case(GH + "MicrosoftDocs/azure-docs/issues/50105",
         "rpc error: code = Unknown desc = Error response from daemon: Get https://myregistry.azurecr.io"
         "/v2/mynewimage/1.0.0/manifests/1.0.0: unauthorized: Application not registered with AAD., rpc "
         "error: code = Unknown desc = Error response from daemon: Get https://myregistry.azurecr.io/v2/"
         "mynewimage/1.0.0/manifests/1.0.0: unauthorized: authentication required", U),
    Case(GH + "docker/for-mac/issues/3416",
         "docker: Error response from daemon: Get https://registry-1.docker.io/v2/library/hello-world/"
         "manifests/latest: unauthorized: incorrect username or password.", U,
         facts={"credentials_sent": True, "runtime": "dockerd"}),
    Case(GH + "goodwithtech/dockle/issues/195",
         "unable to initialize a image struct: failed to initialize source: unable to retrieve auth "
         "token: invalid username/password: unauthorized: authentication required, visit "
         "https://aka.ms/acr/authorization for more information.", U, facts={"credentials_sent": True}),
    Case(GH + "stolostron/deploy/issues/6",
         "Error reading manifest 1.0.0-SNAPSHOT-2020-03-12-18-56-25 in quay.io/open-cluster-management/"
         "multiclusterhub-operator-index: unauthorized: access to the requested resource is not "
         "authorized", U, ambiguous=True, facts={"runtime": "cri-o"}),
    # -- not found -------------------------------------------------------------------------------
    Case(MS + " (cause 2)",
         f'Failed to pull image "{A}": [rpc error: code = NotFound desc = failed to pull and unpack '
         f'image "{A}": failed to resolve reference "{A}": {A}: not found', NF),
    Case(GH + "forcedotcom/salesforcedx-docker/issues/35",
         'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/salesforce/'
         'salesforcedx:latest": failed to resolve reference "docker.io/salesforce/salesforcedx:latest":'
         " docker.io/salesforce/salesforcedx:latest: not found", NF,
         facts={"image": "docker.io/salesforce/salesforcedx:latest", "registry_host": "docker.io"}),
    Case(GH + "cloudnative-pg/cloudnative-pg/issues/2265",
         'Failed to pull image "ghcr.io/cloudnative-pg/cloudnative-pg:1.20.1": rpc error: code = NotFound '
         'desc = failed to pull and unpack image "ghcr.io/cloudnative-pg/cloudnative-pg:1.20.1": failed '
         "to copy: httpReadSeeker: failed open: content at https://ghcr.io/v2/cloudnative-pg/cloudnative"
         "-pg/manifests/sha256:827429f7… not found: not found", NF),
    Case(GH + "kagent-dev/khook/pull/8",
         'Failed to pull image "cr.kagent.dev/kagent-dev/khook:0.0.4": rpc error: code = NotFound desc = '
         'failed to pull and unpack image "cr.kagent.dev/kagent-dev/khook:0.0.4"', NF),
    Case(GH + "sympozium-ai/sympozium/issues/5",
         'Failed to pull image "ghcr.io/alexsjones/sympozium/apiserver:v0.0.29": rpc error: code = '
         'NotFound desc = failed to pull and unpack image "ghcr.io/alexsjones/sympozium/apiserver:'
         'v0.0.29": failed to resolve reference "ghcr.io/alexsjones/sympozium/apiserver:v0.0.29": '
         "ghcr.io/alexsjones/sympozium/apiserver:v0.0.29: not found", NF),
    Case(GH + "containerd/cri/issues/787",  # containerd 1.1
         'pulling image failed: rpc error: code = Unknown desc = failed to resolve image "registry.'
         'opensource.zalan.do/pathfinder/skipper:v0.9.120": registry.opensource.zalan.do/pathfinder/'
         "skipper:v0.9.120 not found", NF, facts={"runtime": "containerd"}),
    Case(GH + "kubevela/kubevela/pull/981",
         'Failed to pull image "oamdev/vela-core:0.3.1": rpc error: code = Unknown desc = Error response '
         "from daemon: manifest for oamdev/vela-core:0.3.1 not found: manifest unknown: manifest unknown",
         NF, facts={"registry_host": "docker.io", "runtime": "dockerd"}),
    Case(GH + "lachie83/k8s-kubectl/issues/157",
         'Failed to pull image "lachlanevenson/k8s-kubectl:v1.18.20": rpc error: code = Unknown desc = '
         "Error response from daemon: manifest for lachlanevenson/k8s-kubectl:v1.18.20 not found: "
         "manifest unknown: manifest unknown", NF),
    Case(GH + "open-telemetry/opentelemetry-operator/issues/239",
         'Failed to pull image "quay.io/opentelemetry/opentelemetry-operator:0.23.0": rpc error: code = '
         "Unknown desc = Error response from daemon: manifest for quay.io/opentelemetry/opentelemetry-"
         "operator:0.23.0 not found: manifest unknown: manifest unknown", NF,
         facts={"registry_host": "quay.io"}),
    Case(GH + "mattmattox/drain-node-on-crash/issues/7",
         "ErrImagePull: rpc error: code = Unknown desc = Error response from daemon: manifest for "
         "drainnode/leader:v1.0-rc9 not found: manifest unknown: manifest unknown", NF,
         facts={"image": "drainnode/leader:v1.0-rc9"}),
    Case(GH + "kubeflow/examples/issues/654",  # the missing tag, then the legacy anonymous attempt
         'Failed to pull image "acrname.azurecr.io/preprocess": [rpc error: code = Unknown desc = Error '
         "response from daemon: manifest for acrname.azurecr.io/preprocess:latest not found: manifest "
         "unknown: manifest unknown, rpc error: code = Unknown desc = Error response from daemon: Get "
         "https://acrname.azurecr.io/v2/preprocess/manifests/latest: unauthorized: authentication "
         "required]", NF),
    Case(GH + "postfinance/kubelet-csr-approver/issues/8",
         'Failed to pull image "pf/kubelet-csr-approver:0.1.0": rpc error: code = Unknown desc = Error '
         "response from daemon: pull access denied for pf/kubelet-csr-approver, repository does not exist"
         " or may require 'docker login'", NF, ambiguous=True),
    Case(GH + "aliyun/kvc-3fs-operator/issues/4",
         'failed to resolve reference "vcns-registry.cn-hangzhou.cr.aliyuncs.com/vcns/3fs:0828-multi-'
         'device-op1": pull access denied, repository does not exist or may require authorization: '
         "server message: insufficient_scope: authorization failed", NF, ambiguous=True,
         facts={"registry_host": "vcns-registry.cn-hangzhou.cr.aliyuncs.com"}),
    Case(GH + "cri-o/cri-o/issues/2331",
         "pulling image failed: rpc error: code = Unknown desc = Error reading manifest latest in "
         "docker.io/crio/busybox: errors:\ndenied: requested access to the resource is denied\n"
         "unauthorized: authentication required", NF, ambiguous=True, facts={"runtime": "cri-o"}),
    Case(GH + "okd-project/okd/issues/2194",
         "rpc error: code = Unknown desc = initializing source docker://quay.io/okd/scos-content@sha256:"
         "637140d5811ea5f3ebbf1f0185ef4e98085236684337f2aabc4fa6bbffe1b305: reading manifest sha256:"
         "637140d5811ea5f3ebbf1f0185ef4e98085236684337f2aabc4fa6bbffe1b305 in quay.io/okd/scos-content: "
         "manifest unknown", NF,
         facts={"runtime": "cri-o", "image": "quay.io/okd/scos-content@sha256:637140d5811ea5f3ebbf1f0185"
                "ef4e98085236684337f2aabc4fa6bbffe1b305"}),
    Case(GH + "raffaelespazzoli/credscontroller/issues/10",
         'Failed to pull image "registry.svc.ci.openshift.org/origin/4.3-2019-10-29-062458@sha256:818409'
         '2486c345c2b757f366f146218a115e5d7a92b481cb76257358653ec852": rpc error: code = Unknown desc = '
         "Error reading manifest sha256:8184092486c345c2b757f366f146218a115e5d7a92b481cb76257358653ec852"
         " in registry.svc.ci.openshift.org/origin/4.3-2019-10-29-062458: manifest unknown: manifest "
         "unknown", NF, facts={"runtime": "cri-o", "registry_host": "registry.svc.ci.openshift.org"}),
    # -- forbidden ---------------------------------------------------------------------------------
    Case(MS + " (cause 3)",
         f'Failed to pull image "{A}": rpc error: code = Unknown desc = failed to pull and unpack image '
         f'"{A}": failed to resolve reference "{A}": failed to authorize: failed to fetch anonymous '
         "token: unexpected status: 403 Forbidden", FB,
         facts={"http_status": 403, "credentials_sent": False}),
    Case(GH + "Azure/acr/issues/633",
         'Failed to pull image "<acrname>.azurecr.io/<imagae-name>:02b6d84d635c3d9ff4182ad1c50d16364695d3'
         'd5": rpc error: code Unknown desc Error response from daemon: Head "https://<acrname>.azurecr.io'
         '/v2/<image-name>/manifests/02b6d84d635c3d9ff4182ad1c50d16364695d3d5": denied: client with IP '
         "'x.x.x.x' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.", FB,
         facts={"runtime": "dockerd"}),
    Case(GH + "docker/build-push-action/issues/1214",
         'error response from daemon: Get "https://.azurecr.io/v2/": denied: {"errors":[{"code":"DENIED",'
         '"message":"client with IP \\u0027172.214.169.102\\u0027 is not allowed access. Refer\n'
         'https://aka.ms/acr/firewall\nto grant access."}]}*', FB),
    Case(GH + "Azure/AKS/issues/1383",  # Azure Storage XML body; the reporter's list is cut off
         'Failed to pull image "aksrepos.azurecr.io/mirror/ip-masq-agent-amd64:v2.0.0_v0.0.5": [rpc '
         "error: code = Unknown desc = error pulling image configuration: error parsing HTTP 403 response "
         "body: invalid character 'ï' looking for beginning of value: \"\\ufeff<?xml version=\\\"1.0\\\" "
         'encoding=\\"utf-8\\"?><Error><Code>AuthorizationFailure</Code><Message>This request is not '
         "authorized to perform this operation.\\nRequestId:31d6913c-901e-0013-4fb9-ca617d000000\\nTime:"
         '2020-01-14T09:02:12.6212166Z</Message></Error>", rpc error: code = Unknown desc =', FB,
         facts={"http_status": 403, "registry_host": "aksrepos.azurecr.io"}),
    Case(GH + "sethforprivacy/self-hosted-services/issues/25",  # an HTML 403 body
         "error pulling image configuration: download failed after attempts=1: error parsing HTTP 403 "
         "response body: invalid character '<' looking for beginning of value: \"\\n<html><head>\\n<meta"
         ' http-equiv=\\"content-type\\" content=\\"text/html;charset=utf-8\\">\\n<title>403 Forbidden'
         "</title>\\n</head>\\n<body text=#000000 bgcolor=#ffffff>\\n<h1>Error: Forbidden</h1>\\n<h2>Your"
         " client does not have permission to get URL <code>/gitlab/docker/registry/v2/blobs/sha256/4e/"
         '4ede285a…/data</code> from this server.</h2>\\n<h2></h2>\\n</body></html>\\n"', FB,
         facts={"http_status": 403}),
    Case(GH + "Azure-Samples/container-apps-store-api-microservice/issues/33",
         'Failed to pull image "ghcr.io/danwahlin/container-apps-store-api-microservice/node-service:sha-'
         'ac6a0a4": rpc error: code = Unknown desc = failed to pull and unpack image "ghcr.io/danwahlin/'
         'container-apps-store-api-microservice/node-service:sha-ac6a0a4": failed to resolve reference '
         '"ghcr.io/danwahlin/container-apps-store-api-microservice/node-service:sha-ac6a0a4": failed to '
         "authorize: failed to fetch oauth token: unexpected status: 403 Forbidden", FB,
         facts={"credentials_sent": True, "http_status": 403}),
    Case(GH + "nloui/paperless-mcp/issues/10",
         'Failed to pull image "ghcr.io/nloui/paperless-mcp:latest": failed to pull and unpack image '
         '"ghcr.io/nloui/paperless-mcp:latest": failed to resolve reference "ghcr.io/nloui/paperless-mcp'
         ':latest": failed to authorize: failed to fetch anonymous token: unexpected status from GET '
         "request to https://ghcr.io/token?scope=repository%3Anloui%2Fpaperless-mcp%3Apull&service="
         "ghcr.io: 403 Forbidden", FB, facts={"credentials_sent": False}),
    Case(GH + "Azure/peerd/issues/34",
         'ctr: failed to resolve reference "registry.k8s.io/sig-storage/csi-resizer:v1.7.0": unexpected '
         "status from HEAD request to https://registry.k8s.io/v2/sig-storage/csi-resizer/manifests/"
         "v1.7.0: 403 Forbidden", FB, facts={"registry_host": "registry.k8s.io"}),
    # -- timeout ---------------------------------------------------------------------------------
    Case(MS + " (cause 4)",
         f'Failed to pull image "{A}": rpc error: code = Unknown desc = failed to pull and unpack image '
         f'"{A}": failed to resolve reference "{A}": failed to do request: Head "https://<acrname>.'
         'azurecr.io/v2/<repository>/manifests/v1": dial tcp <acrprivateipaddress>:443: i/o timeout', TO),
    Case(MS + " (cause 7)",  # kubelet >= 1.28: no rpc wrapper
         'Failed to pull image "test.azurecr.io/test-api:v1.1.3": failed to pull and unpack image '
         '"test.azurecr.io/test-api:v1.1.3": failed to resolve reference "test.azurecr.io/test-api:'
         'v1.1.3": failed to do request: Head "https://test.azurecr.io/v2/test-api/manifests/v1.1.3": '
         "net/http: TLS handshake timeout", TO, facts={"registry_host": "test.azurecr.io"}),
    Case(GH + "myifeng/mirror-porter/issues/92",
         'Failed to pull image "k8s.gcr.io/conformance:v1.28.5": rpc error: code = DeadlineExceeded desc '
         '= failed to pull and unpack image "k8s.gcr.io/conformance:v1.28.5": failed to resolve reference'
         ' "k8s.gcr.io/conformance:v1.28.5": failed to do request: Head "https://k8s.gcr.io/v2/'
         'conformance/manifests/v1.28.5": dial tcp 64.233.189.82:443: i/o timeout', TO),
    Case(GH + "cri-o/cri-o/pull/189",  # kubelet <= 1.9 numeric codes
         'Failed to pull image "nginx": rpc error: code = 4 desc = context deadline exceeded', TO,
         facts={"registry_host": "docker.io"}),
    Case(GH + "kubernetes/minikube/issues/15626",
         'Failed to pull image "noyandocker/authservice": rpc error: code = Unknown desc = context '
         "deadline exceeded", TO),
    Case(GH + "argoproj/argo-workflows/issues/9361",
         'Failed to pull image "reanahub/reana-demo-bsm-search": rpc error: code = Unknown desc = context'
         " deadline exceeded", TO),
    Case(GH + "rancher-sandbox/rancher-desktop/issues/3293",
         'Failed to pull image "xxxxxx.dkr.ecr.eu-west-1.amazonaws.com/application-image:210630": rpc '
         "error: code = Unknown desc = context deadline exceeded", TO),
    Case(GH + "kubernetes/kubernetes/issues/111528",
         '"PullImage from image service failed" err="rpc error: code = Unknown desc = context deadline '
         'exceeded" image="*.*.*.*:5000/sample:latest"', TO,
         facts={"image": "*.*.*.*:5000/sample:latest", "registry_host": None}),
    Case(GH + "kubernetes/kubernetes/issues/107340",
         'Failed to pull image "busybox": rpc error: code = Unknown desc = Error response from daemon: Get'
         " https://registry-1.docker.io/v2/: net/http: TLS handshake timeout", TO),
    Case(GH + "kubernetes/community/issues/6978",
         'Failed to pull image "ubuntu": rpc error: code = Unknown desc = failed to pull and unpack image '
         '"docker.io/library/ubuntu:latest": failed to resolve reference "docker.io/library/ubuntu:latest'
         '": failed to do request: Head "https://registry-1.docker.io/v2/library/ubuntu/manifests/latest"'
         ": net/http: TLS handshake timeout", TO),
    Case(GH + "Azure/acr/issues/77",
         "Error response from daemon: Get https://zapic.azurecr.io/v2/image/name/manifests/tag: Get "
         "https://zapic.azurecr.io/oauth2/token?account=zapic&scope=repository%3Aimage%2Fname%3Apull&"
         "service=zapic.azurecr.io: net/http: request canceled (Client.Timeout exceeded while awaiting "
         "headers)", TO),
    Case(GH + "k3s-io/k3s/issues/1272",
         'ctr: failed to resolve reference "docker.io/rancher/pause:3.1": failed to do request: Head '
         "https://registry-1.docker.io/v2/rancher/pause/manifests/3.1: dial tcp 34.197.189.129:443: i/o "
         "timeout", TO),
    Case(GH + "kubernetes-sigs/external-dns/issues/770",  # containerd 1.1/1.2 "resolve image"
         'Failed to pull image "registry.opensource.zalan.do/teapot/external-dns:v0.5.7": rpc error: code '
         '= Unknown desc = failed to resolve image "registry.opensource.zalan.do/teapot/external-dns:'
         'v0.5.7": failed to do request: Head https://registry.opensource.zalan.do/v2/teapot/external-dns'
         "/manifests/v0.5.7: dial tcp 52.215.109.161:443: i/o timeout", TO),
    Case(GH + "cri-o/cri-o/issues/2723",
         "pulling image failed: rpc error: code = Unknown desc = pinging docker registry returned: Get "
         "http://registry-1.docker.io/v2/: dial tcp 34.199.40.84:80: i/o timeout", TO,
         facts={"runtime": "cri-o"}),
    Case(GH + "Azure/acr/issues/594",
         "ACR d*****.azurecr.io rejected token exchange: failed to send token exchange request: Post "
         "https://d*****.azurecr.io/oauth2/exchange: dial tcp 10.201.3.5:443: i/o timeout", TO),
    # cancellations: a deadline or the kubelet giving up — the text does not say which
    Case(GH + "kubernetes/kubernetes/issues/131521",
         'Failed to pull image "private_registery.mydomain/idrac_to_kafka:20250428T1620": rpc error: code '
         '= Canceled desc = failed to pull and unpack image "private_registery.mydomain/idrac_to_kafka:'
         '20250428T1620": failed to copy: httpReadSeeker: failed open: failed to do request: Get "https:'
         '//private_registery.mydomain/v2/csg/idrac_to_kafka/blobs/sha256:d0157ca5…": context canceled',
         TO, ambiguous=True),
    Case(GH + "kubernetes/kubernetes/issues/58526",
         'Failed to pull image "xyz:5500/my/kibana-openshift:5.6.3": rpc error: code = 2 desc = net/http:'
         " request canceled", TO, ambiguous=True, facts={"registry_host": "xyz:5500"}),
    Case(GH + "kubernetes/test-infra/pull/34263",
         '"PullImage from image service failed" err="rpc error: code = Canceled desc = copying system '
         "image from manifest list: copying config", TO, ambiguous=True, facts={"runtime": "cri-o"}),
    # -- platform ------------------------------------------------------------------------------
    Case(MS + " (cause 1b)",  # platform first, then the legacy anonymous attempt's 401
         f'Failed to pull image "{A}": [rpc error: code = NotFound desc = failed to pull and unpack '
         f'image "{A}": no match for platform in manifest: not found, failed to pull and unpack image '
         f'"{A}": failed to resolve reference "{A}": failed to authorize: failed to fetch anonymous '
         "token: unexpected status from GET request to https://<acrname>.azurecr.io/oauth2/token?scope="
         "repository%3A<repository>%3Apull&service=<acrname>.azurecr.io: 401 Unauthorized]", PM),
    Case(MS + " (cause 5)",
         f'Failed to pull image "{A}": [ rpc error: code = NotFound desc = failed to pull and unpack '
         f'image "{A}": no match for platform in manifest: not found, ]', PM),
    Case(GH + "kubewarden/adm-controller/issues/1378",
         'Failed to pull image "ghcr.io/kubewarden/kubewarden-controller:latest": rpc error: code = '
         'NotFound desc = failed to pull and unpack image "ghcr.io/kubewarden/kubewarden-controller:'
         'latest": no match for platform in manifest: not found', PM),
    Case(GH + "cilium/image-tools/issues/61",
         'Failed to pull image "docker.io/cilium/startup-script:af2a99046eca96c0138551393b21a5c044c7fe79"'
         ": rpc error: code = Unknown desc = no matching manifest for linux/arm/v7 in the manifest list "
         "entries", PM),
    Case(GH + "kube-rbac-proxy/kube-rbac-proxy/issues/79",
         'Failed to pull image "quay.io/brancz/kube-rbac-proxy:v0.10.0": rpc error: code = Unknown desc '
         "= no matching manifest for linux/arm64/v8 in the manifest list entries", PM),
    Case(GH + "link-assistant/hive-mind/issues/962",
         "Error response from daemon: no matching manifest for linux/arm64/v8 in the manifest list "
         "entries: no match for platform in manifest: not found", PM, facts={"runtime": "dockerd"}),
    # -- other: dns ------------------------------------------------------------------------------
    Case(GH + "istio/community/issues/25",
         'Failed to pull image "istio/examples-bookinfo-reviews-v2:0.2.8": rpc error: code = Unknown desc'
         " = Error response from daemon: Get https://registry-1.docker.io/v2/: dial tcp: lookup registry-"
         "1.docker.io on 192.168.64.1:53: server misbehaving", OT, "dns"),
    Case(GH + "hjacobs/kube-ops-view/issues/176",
         'Failed to pull image "hjacobs/kube-ops-view:0.8.1": rpc error: code = Unknown desc = Error '
         "response from daemon: Get https://registry-1.docker.io/v2/: dial tcp: lookup registry-1.docker"
         ".io on 127.0.0.53:53: server misbehaving", OT, "dns"),
    Case(GH + "kubernetes/minikube/issues/15626",  # the resolver timed out: DNS, not the registry
         'Failed to pull image "noyandocker/productservice": rpc error: code = Unknown desc = Error '
         'response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.'
         "docker.io on 192.168.65.2:53: read udp 192.168.49.2:59506->192.168.65.2:53: i/o timeout", OT,
         "dns"),
    Case(GH + "docker/compose/issues/5533",
         "Error response from daemon: Get https://registry-1.docker.io/v2/: dial tcp: lookup registry-1."
         "docker.io on [::1]:53: read udp [::1]:60341->[::1]:53: read: connection refused", OT, "dns"),
    Case(GH + "cri-o/cri-o/issues/3612",
         "pulling image failed: rpc error: code = Unknown desc = error pinging docker registry k8s.gcr.io"
         ': Get "https://k8s.gcr.io/v2/": dial tcp: lookup k8s.gcr.io: device or resource busy', OT, "dns"),
    Case(GH + "cri-o/cri-o/issues/2331",
         "pulling image failed: rpc error: code = Unknown desc = error pinging docker registry registry-1"
         '.docker.io: Get "https://registry-1.docker.io/v2/": proxyconnect tcp: dial tcp: lookup http: '
         "Temporary failure in name resolution", OT, "dns"),
    # -- not_found: NXDOMAIN ---------------------------------------------------------------------
    Case(GH + "microsoft/nav-docker/issues/57",  # "you misspelled the registry"
         "docker: Error response from daemon: Get https://navdocker.az-azurecr.io/v2/: dial tcp: lookup "
         "navdocker.az-azurecr.io on 192.168.65.1:53: no such host", NF,
         facts={"registry_host": "navdocker.az-azurecr.io"}),
    Case(GH + "tfenster/BCinaB/issues/30",  # an Azure registry: typo or private DNS record missing
         "ERROR: Get https://arssolvendi.azurecr.io/v2/: dial tcp: lookup arssolvendi.azurecr.io: no such"
         " host", NF, ambiguous=True),
    Case(GH + "virtual-kubelet/azure-aci/issues/65",
         "Get https://***/v2/: dial tcp: lookup *** on 168.63.129.16:53: no such host", NF,
         facts={"registry_host": None}),
    Case(GH + "docker/login-action/issues/718",
         'Error response from daemon: Get "https://***/v2/": dial tcp: lookup *** on 127.0.0.53:53: no '
         "such host", NF),
    Case(GH + "microsoft/azure-pipelines-tasks/issues/10616",
         'Get "https://***/v2/": dial tcp: lookup ***: no such host', NF),
    # -- other: tls ------------------------------------------------------------------------------
    Case(GH + "kubernetes/kubernetes/issues/43924",
         'Failed to pull image "10.78.0.228:5000/monitorms": Error response from daemon: {"message":"Get '
         'https://10.78.0.228:5000/v1/_ping: x509: certificate signed by unknown authority"}', OT, "tls",
         facts={"registry_host": "10.78.0.228:5000"}),
    Case(GH + "dwmkerr/terraform-aws-openshift/issues/76",
         'Failed to pull image "docker-registry-default.ip.xip.io/project/name": rpc error: code = '
         "Unknown desc = Get https:/docker-registry-default.ip.xip.io/project/name : x509: certificate "
         "signed by unknown authority", OT, "tls"),
    Case(GH + "kubernetes/minikube/issues/3721",
         "[ERROR ImagePull]: failed to pull image k8s.gcr.io/kube-apiserver:v1.13.3: output: Error "
         "response from daemon: Get https://k8s.gcr.io/v2/: x509: certificate signed by unknown authority",
         OT, "tls", facts={"registry_host": "k8s.gcr.io"}),
    # -- other: rate limits, 5xx, connection -------------------------------------------------------
    Case(GH + "docker/docs/issues/21908",
         "failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker."
         "io/v2/bitnamicharts/drupal/manifests/sha256:9538e0c4…: 429 Too Many Requests - Server message: "
         "toomanyrequests: You have reached your pull rate limit. You may increase the limit by "
         "authenticating and upgrading: https://www.docker.com/increase-rate-limit", OT, "rate_limited",
         facts={"http_status": 429}),
    Case(GH + "docker/hub-feedback/issues/2429",
         "Error response from daemon: toomanyrequests: You have reached your pull rate limit. You may "
         "increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
         OT, "rate_limited", facts={"http_status": 429}),
    Case(GH + "play-with-docker/play-with-docker/issues/422",
         "error pulling image configuration: toomanyrequests: Too Many Requests. Please see "
         "https://docs.docker.com/docker-hub/download-rate-limit/", OT, "rate_limited"),
    Case(GH + "ketches/registry-proxy/issues/5",  # an HTML body
         "Error response from daemon: toomanyrequests: <!DOCTYPE html>", OT, "rate_limited"),
    # the thread: the real cause was the wrong service principal — a 5xx next to a 401
    Case(GH + "Azure/acr/issues/231",
         'Failed to pull image "***": [rpc error: code = Unknown desc = Error response from daemon: Get '
         "******: received unexpected HTTP status: 500 Internal Server Error, rpc error: code = Unknown "
         "desc = Error response from daemon: Get **********: unauthorized: authentication required]", OT,
         "registry_error", ambiguous=True, facts={"http_status": 500}),
    Case(GH + "kubernetes/registry.k8s.io/issues/294",
         'Failed to pull image "registry.k8s.io/csi-secrets-store/driver:v1.2.1": failed to pull and '
         'unpack image "registry.k8s.io/csi-secrets-store/driver:v1.2.1": failed to copy: httpReadSeeker:'
         " failed open: unexpected status code https://registry.k8s.io/v2/csi-secrets-store/driver/"
         "manifests/sha256:1fa698be…: 503 Service Unavailable", OT, "registry_error",
         facts={"http_status": 503}),
    Case(GH + "labring/sealos/issues/1047",
         'pulling image: rpc error: code = Unknown desc = failed to pull and unpack image "sealos.hub:5000'
         '/kube-proxy:v1.24.0": failed to resolve reference "sealos.hub:5000/kube-proxy:v1.24.0": pulling'
         " from host sealos.hub:5000 failed with status code [manifests v1.24.0]: 503 Service Unavailable",
         OT, "registry_error", facts={"registry_host": "sealos.hub:5000"}),
    Case(GH + "kubernetes/k8s.io/issues/5181",
         "[ERROR ImagePull]: failed to pull image registry.k8s.io/kube-apiserver:v1.22.17: output: Error "
         "response from daemon: received unexpected HTTP status: 503 Service Unavailable", OT,
         "registry_error"),
    Case(GH + "k3s-io/k3s/issues/10351",
         'failed to pull and unpack image \\"docker.io/rancher/mirrored-pause:3.6\\": failed to resolve '
         'reference \\"docker.io/rancher/mirrored-pause:3.6\\": unexpected status from HEAD request to '
         "https://127.0.0.1:6443/v2/rancher/mirrored-pause/manifests/3.6?ns=docker.io: 500 Internal "
         "Server Error", OT, "registry_error"),
    Case(GH + "docker/hub-feedback/issues/2082",
         "Error response from daemon: Get https://registry-1.docker.io/v2/: EOF", OT, "connection"),
    Case(GH + "microsoft/containerregistry/issues/180",
         'Error response from daemon: failed to resolve reference "mcr.microsoft.com/dotnet/aspire-'
         'dashboard:latest": failed to do request: Head "https://mcr.microsoft.com/v2/dotnet/aspire-'
         'dashboard/manifests/latest": EOF', OT, "connection", facts={"registry_host": "mcr.microsoft.com"}),
    Case(GH + "kubernetes/ingress-nginx/issues/9187",
         'Failed to pull image "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v20220916-gd32f8c343@'
         'sha256:39c5b2e3…": rpc error: code = Unknown desc = Error response from daemon: Get "https://us-'
         'east4-docker.pkg.dev/v2/k8s-artifacts-prod/images/ingress-nginx/kube-webhook-certgen/manifests/'
         'sha256:39c5b2e3…": read tcp 10.183.231.70:43720->142.251.163.82:443: read: connection reset by '
         "peer", OT, "connection"),
    Case(GH + "kubernetes/registry.k8s.io/issues/306",
         "dial tcp 34.96.108.209:443: connect: connection refused", OT, "connection"),
    Case(GH + "moby/moby/issues/37127",
         "Error response from daemon: Get https://registry-1.docker.io/v2/: dial tcp 35.169.231.249:443: "
         "connectex: No connection could be made because the target machine actively refused it.", OT,
         "connection"),
    # -- other: the kubelet's own verdicts --------------------------------------------------------
    Case(MS + " (cause 6)",
         'Failed to pull image "acrname.azurecr.io/repo/nginx:latest": pull QPS exceeded.', OT, "pull_qps",
         facts={"registry_host": "acrname.azurecr.io"}),
    Case(GH + "Azure/AKS/issues/3138", 'Failed to pull image "a.b.c/image-0.1": pull QPS exceeded', OT,
         "pull_qps"),
    Case(GH + "hystax/optscale/issues/701",
         'Container image "error_pages:local" is not present with pull policy of Never', OT, "never_pull",
         facts={"image": "error_pages:local"}),
    Case(GH + "stellar/anchor-platform/pull/1467",
         'Container image "docker-registry.services.stellar-ops.com/dev/anchor-platform:e6ca4be8" is not '
         "present with pull policy of Never", OT, "never_pull",
         facts={"registry_host": "docker-registry.services.stellar-ops.com"}),
    Case(GH + "k3s-io/k3s/issues/1586", "Error: ErrImageNeverPull", OT, "never_pull"),
    Case(GH + "jupyterhub/zero-to-jupyterhub-k8s/issues/472",
         'Failed to apply default image tag "None:None": couldn\'t parse image reference "None:None": '
         "invalid reference format: repository name must be lowercase", OT, "invalid_reference"),
    Case(GH + "jupyterhub/zero-to-jupyterhub-k8s/issues/472",
         'Failed to apply default image tag "https://harbor.k8s.mybank/release/name:1.1.0": couldn\'t '
         'parse image reference "https://harbor.k8s.mybank/release/name:1.1.0": invalid reference '
         "format.", OT, "invalid_reference"),
    Case(GH + "cloudfoundry-incubator/kubecf/issues/63",
         'Failed to apply default image tag "/cloudfoundry/75f129a0-d8c9-415a-9a8a-f514002f1459:a28a05709'
         '747165a9c25c14f1b77d5c4db260d48": couldn\'t parse image reference "/cloudfoundry/75f129a0-d8c9-'
         '415a-9a8a-f514002f1459:a28a05709747165a9c25c14f1b77d5c4db260d48": invalid reference format', OT,
         "invalid_reference"),
    Case(GH + "darklang/dark/pull/454",
         'Failed to apply default image tag "gcr.io/balmy-ground-195100/dark-gcp:gcr.io/balmy-ground-'
         '195100/dark-gcp:8e3213495373": couldn\'t parse image reference "gcr.io/balmy-ground-195100/dark-'
         'gcp:gcr.io/balmy-ground-195100/dark-gcp:8e3213495373": invalid reference format: '
         "InvalidImageName", OT, "invalid_reference"),
    Case(GH + "usestrix/strix/issues/483",
         "failed to extract layer (application/vnd.oci.image.layer.v1.tar+gzip sha256:0465d356…) to "
         'overlayfs as "extract-260106421-WDeK sha256:dc6b5af8…": write /var/lib/desktop-containerd/daemon'
         "/io.containerd.snapshotter.v1.overlayfs/snapshots/105/fs/home/pentester/.cache/go-build/27/"
         "27085a9d…-d: no space left on device", OT, "disk"),
    Case(GH + "play-with-docker/play-with-docker/issues/249",
         "docker: failed to register layer: Error processing tar file(exit status 1): write /lib/x86_64-"
         "linux-gnu/libdns-export.so.162.1.3: no space left on device.", OT, "disk"),
]


@pytest.mark.parametrize("case", REAL, ids=[f"{i:02d}-{c.source.rsplit('/', 3)[-3]}"
                                             for i, c in enumerate(REAL)])
def test_real_message(case: Case) -> None:
    # given a message copied from a public thread; when classified
    got = classify(case.message)
    # then category, subcause and ambiguity are what the text supports, with what it names
    assert (got.category.value, got.subcause, got.ambiguous) == (
        case.category, case.subcause, case.ambiguous), got.reason
    assert 0 < got.confidence <= 1
    assert got.confidence < 0.7 if got.ambiguous else got.confidence >= 0.6
    for field, value in case.facts.items():
        assert getattr(got, field) == value, field


def test_the_table_is_wide_enough() -> None:
    # the bar: at least 80 real messages, every category, every runtime
    assert len(REAL) >= 80
    assert {c.category for c in REAL} == {c.value for c in Category}
    runtimes = {classify(c.message).runtime for c in REAL}
    assert {"containerd", "dockerd", "cri-o"} <= runtimes
    assert all(c.source.startswith("https://") for c in REAL)


# -- constructed cases the rules promise (not counted as real messages) -------------------------
def test_eof_with_401_is_ambiguous() -> None:
    # given an egress firewall: the credential attempt dies with EOF, the anonymous one gets 401
    text = ('Failed to pull image "contoso.azurecr.io/app:v1": [failed to pull and unpack image '
            '"contoso.azurecr.io/app:v1": failed to resolve reference "contoso.azurecr.io/app:v1": '
            'failed to do request: Head "https://contoso.azurecr.io/v2/app/manifests/v1": EOF, failed '
            'to pull and unpack image "contoso.azurecr.io/app:v1": failed to resolve reference '
            '"contoso.azurecr.io/app:v1": failed to authorize: failed to fetch anonymous token: '
            "unexpected status: 401 Unauthorized]")
    got = classify(text)
    assert (got.category, got.subcause, got.ambiguous) == (Category.OTHER, "connection", True)
    assert got.confidence <= 0.45


def test_event_reason_decides_for_the_kubelets_own_verdicts() -> None:
    got = classify("Back-off pulling image \"app:v1\"", event_reason="ErrImageNeverPull")
    assert (got.category, got.subcause) == (Category.OTHER, "never_pull")
    got = classify("Back-off pulling image \"app:v1\"")  # nothing in the text: say so
    assert (got.category, got.subcause, got.ambiguous) == (Category.OTHER, "unknown", True)
    assert got.confidence <= 0.2


# -- every message the simulator's kubelet can write --------------------------------------------
REF = parse("contosoapp.azurecr.io/app/web:v1")
HOST, URL = REF.host, msg.manifest_url(REF.host, REF)
WORDINGS = [Wording("containerd", (1, 7), (1, 30)), Wording("containerd", (1, 7), (1, 27)),
            Wording("containerd", (1, 6), (1, 30)), Wording("containerd", (1, 6), (1, 26)),
            Wording("dockerd", (1, 6), (1, 24)), Wording("dockerd", (1, 6), (1, 30))]
ANON_401 = PullError("token", host=HOST, anonymous=True, status=401, url=URL)
# (scenario cause, the errors the simulator renders for it, what the text must classify as)
SIMULATED: list[tuple[str, list[PullError], str, str | None, bool]] = [
    ("host_not_found", [PullError("dns", host=HOST, dns="168.63.129.16", url=URL)], NF, None, True),
    # same text as a typo: the private zone has no record (hence ambiguous; pull.CATEGORY: other)
    ("dns_record_missing", [PullError("dns", host=HOST, dns="10.0.0.4", url=URL)], NF, None, True),
    *[(cause, [PullError("timeout", host=HOST, ip="10.1.0.5", url=URL)], TO, None, False)
      for cause in ("docker_hub_unreachable", "nsg_denied", "route_drops", "appliance_unreachable",
                    "firewall_denied", "peering_not_connected", "private_address_unreachable")],
    *[(cause, [PullError("token", host=HOST, anonymous=anon, status=403, ip="20.1.2.3", url=URL)],
       FB, None, False) for cause in ("public_access_disabled", "egress_ip_not_allowed")
      for anon in (True, False)],
    ("tag_not_found", [PullError("not_found", host=HOST, url=URL)], NF, None, False),
    ("platform_mismatch", [PullError("platform", host=HOST, platform="linux/arm64/v8", url=URL)], PM,
     None, False),
    # a credential that was sent and refused: oauth token 401 (dockerd cannot say it was sent)
    ("pull_secret_sp_expired", [PullError("token", host=HOST, status=401, url=URL), ANON_401], U, None,
     False),
    # the node's credential was refused at the exchange: only the anonymous fallback is left
    ("pull_role_missing", [ANON_401], U, None, True),
    ("kubelet_identity_not_on_vmss", [ANON_401], U, None, True),
    # a wrong repository name reads as 401 (anonymous fallback) — the missing-repository scenario
    ("repository_not_found", [ANON_401], U, None, True),
    ("legacy platform first", [PullError("platform", host=HOST, platform="windows/amd64", url=URL),
                               ANON_401], PM, None, False),
]


@pytest.mark.parametrize("wording", WORDINGS, ids=lambda w: f"{w.runtime}-{w.containerd}-k{w.kubelet}")
@pytest.mark.parametrize("cause,errors,category,subcause,ambiguous", SIMULATED,
                         ids=[s[0] for s in SIMULATED])
def test_simulated_kubelet_messages(wording: Wording, cause: str, errors: list[PullError],
                                    category: str, subcause: str | None, ambiguous: bool) -> None:
    # given the exact text the simulated kubelet writes for this cause, runtime and version
    text = msg.failed_to_pull(REF.host + "/app/web:v1", msg.render(errors, REF, wording))
    got = classify(text)
    expected_ambiguous = ambiguous or (wording.runtime == "dockerd" and category == U)
    # then the class is the one the text supports (dockerd never says whether credentials went)
    assert (got.category.value, got.subcause, got.ambiguous) == (category, subcause,
                                                                 expected_ambiguous), text
    assert got.image == "contosoapp.azurecr.io/app/web:v1"
    assert got.registry_host == HOST
    assert got.runtime == ("dockerd" if wording.runtime == "dockerd" else "containerd")
    if cause in CATEGORY and CATEGORY[cause] != got.category.value:
        # only where the text cannot tell: the outcome's cause differs from what it reads as
        assert got.ambiguous, (cause, text)


def test_simulated_kubelets_own_texts() -> None:
    assert classify(msg.failed_to_pull("a.b.c/image-0.1", msg.PULL_QPS)).subcause == "pull_qps"
    bad = "Contoso.azurecr.io/App:v1"
    from simulator.kubelet.reference import InvalidReference
    with pytest.raises(InvalidReference) as exc:
        parse(bad)
    got = classify(msg.invalid_name(bad, str(exc.value)), event_reason="InvalidImageName")
    assert (got.category, got.subcause) == (Category.OTHER, "invalid_reference")
    assert classify(msg.back_off(bad)).subcause == "unknown"
