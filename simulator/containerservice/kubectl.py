"""The kubectl that ``managedClusters/runCommand`` runs inside the cluster.

AKS starts a pod (``command-<id>``) in ``aks-command`` with kubectl and the attached files and
runs the command there, against the cluster's API server from inside the VNet — the only way to
reach a private API server from outside. The caller's identity: the ``clusterToken`` (an Entra
token for the AKS server application) on Entra ID clusters, else the cluster's admin
credential. This module runs the subset of kubectl that tools use through it, by sending the
same REST requests to the cluster's simulated API server, and prints what kubectl prints.

Supported: ``get KIND[,KIND…] [NAME…] [-n NS | -A] [-o json|yaml|name]`` (else a NAME
table), ``get --raw PATH``, ``patch KIND NAME [-n NS] [--type strategic|merge|json] -p JSON
[-o json]``, ``delete KIND NAME… [-n NS]`` and ``{create,replace,delete} --raw PATH [-f FILE]``
(FILE from the attached context). Anything else fails as kubectl would (exit code 1). Several
commands may be chained with ``&&`` or ``;``.
"""

from __future__ import annotations

import io
import json
import shlex
import zipfile
from dataclasses import dataclass, field
from typing import Any

import yaml

from simulator.core import errors
from simulator.core.routing import Ctx, Reply
from simulator.kubernetes.resources import ResourceType, lookup

# kubectl's names for the kinds the twin serves: plural, singular and short names
ALIASES = {
    "po": ("", "v1", "pods"), "pod": ("", "v1", "pods"), "pods": ("", "v1", "pods"),
    "ev": ("", "v1", "events"), "event": ("", "v1", "events"), "events": ("", "v1", "events"),
    "no": ("", "v1", "nodes"), "node": ("", "v1", "nodes"), "nodes": ("", "v1", "nodes"),
    "ns": ("", "v1", "namespaces"), "namespace": ("", "v1", "namespaces"),
    "namespaces": ("", "v1", "namespaces"),
    "secret": ("", "v1", "secrets"), "secrets": ("", "v1", "secrets"),
    "sa": ("", "v1", "serviceaccounts"), "serviceaccount": ("", "v1", "serviceaccounts"),
    "serviceaccounts": ("", "v1", "serviceaccounts"),
    "cm": ("", "v1", "configmaps"), "configmap": ("", "v1", "configmaps"),
    "configmaps": ("", "v1", "configmaps"),
    "rs": ("apps", "v1", "replicasets"), "replicaset": ("apps", "v1", "replicasets"),
    "replicasets": ("apps", "v1", "replicasets"),
    "deploy": ("apps", "v1", "deployments"), "deployment": ("apps", "v1", "deployments"),
    "deployments": ("apps", "v1", "deployments"),
    "sts": ("apps", "v1", "statefulsets"), "statefulset": ("apps", "v1", "statefulsets"),
    "statefulsets": ("apps", "v1", "statefulsets"),
    "ds": ("apps", "v1", "daemonsets"), "daemonset": ("apps", "v1", "daemonsets"),
    "daemonsets": ("apps", "v1", "daemonsets"),
    "job": ("batch", "v1", "jobs"), "jobs": ("batch", "v1", "jobs"),
    "cj": ("batch", "v1", "cronjobs"), "cronjob": ("batch", "v1", "cronjobs"),
    "cronjobs": ("batch", "v1", "cronjobs"),
}
PATCH_TYPES = {"strategic": "application/strategic-merge-patch+json",
               "merge": "application/merge-patch+json", "json": "application/json-patch+json"}


class KubectlError(Exception):
    """kubectl's own refusal of its arguments (exit code 1, message on stderr)."""


@dataclass
class Run:
    """One runCommand's kubectl session: where it sends requests and what it printed."""

    ctx: Ctx
    cluster: dict[str, Any]
    token: str | None
    files: dict[str, bytes] = field(default_factory=dict)
    out: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, *, body: bytes = b"",
                content_type: str = "application/json") -> tuple[int, Any]:
        """Send one request to the cluster's API server from inside the cluster."""
        from simulator.kubernetes import responses

        path, _, query = path.partition("?")
        headers = {"accept": "application/json", "content-type": content_type,
                   "host": "kubernetes.default.svc"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        key = self.cluster["_k8s_key"]
        inner = Ctx(self.ctx.world, method, f"/k8s/{key}{path}",
                    {"key": key, "rest": path.lstrip("/")}, query, headers, body,
                    self.ctx.base_url, self.ctx.server, inside=True)
        try:
            result = responses.handle(inner)
        except errors.CloudError as exc:
            return exc.status, exc.body
        reply = result if isinstance(result, Reply) else Reply(200, result)
        if method != "GET" and 200 <= reply.status < 300:
            self.ctx.world.record_write({
                "method": method, "path": f"/k8s/{key}{path}", "service": "k8s",
                "status": reply.status, "caller": None, "resource": f"/k8s/{key}{path}",
                "via": "runCommand"})
        return reply.status, reply.body


def files_of(context: str | None) -> dict[str, bytes]:
    """The files ``az aks command invoke --file`` attached (a base64 zip)."""
    if not context:
        return {}
    import base64

    try:
        raw = base64.b64decode(context)
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            return {n: zf.read(n) for n in zf.namelist()}
    except (ValueError, zipfile.BadZipFile) as exc:
        raise errors.bad_request("InvalidParameter", "The value of parameter context is "
                                 "invalid: it must be a base64-encoded zip archive.") from exc


def run(session: Run, command: str) -> int:
    """Run ``command`` (one or more kubectl invocations); returns the exit code."""
    code = 0
    for part in _split(command):
        words = shlex.split(part)
        if not words:
            continue
        if words[0] != "kubectl":
            session.out.append(f"/bin/sh: 1: {words[0]}: not found\n")
            return 127
        try:
            code = _kubectl(session, words[1:])
        except KubectlError as exc:
            session.out.append(f"error: {exc}\n")
            code = 1
        if code != 0 and "&&" in command:
            return code
    return code


def _split(command: str) -> list[str]:
    parts: list[str] = []
    for chunk in command.split("&&"):
        parts += chunk.split(";")
    return [p.strip() for p in parts]


@dataclass
class Args:
    verb: str
    positional: list[str]
    namespace: str | None = None
    all_namespaces: bool = False
    output: str | None = None
    raw: str | None = None
    patch: str | None = None
    patch_type: str = "strategic"
    file: str | None = None


def _parse(words: list[str]) -> Args:
    if not words:
        raise KubectlError("You must specify the type of resource to get.")
    args = Args(verb=words[0], positional=[])
    it = iter(words[1:])
    for w in it:
        opt, eq, val = w.partition("=")
        def value(opt: str = opt, eq: str = eq, val: str = val) -> str:
            if eq:
                return val
            try:
                return next(it)
            except StopIteration:
                raise KubectlError(f"flag needs an argument: {opt}") from None
        if opt in ("-n", "--namespace"):
            args.namespace = value()
        elif opt in ("-A", "--all-namespaces"):
            args.all_namespaces = True
        elif opt in ("-o", "--output"):
            args.output = value()
        elif opt == "--raw":
            args.raw = value()
        elif opt in ("-p", "--patch"):
            args.patch = value()
        elif opt == "--type":
            args.patch_type = value()
        elif opt in ("-f", "--filename"):
            args.file = value()
        elif opt.startswith("-"):
            raise KubectlError(f"unknown flag: {opt}")
        else:
            args.positional.append(w)
    return args


def _type(name: str) -> ResourceType:
    kind, _, group = name.partition(".")
    found = ALIASES.get(kind.lower())
    t = lookup(found[0], found[1], found[2]) if found and (not group or group == found[0]) \
        else None
    if t is None:
        raise KubectlError(f'the server doesn\'t have a resource type "{name}"')
    return t


def _path(t: ResourceType, namespace: str | None, name: str | None = None) -> str:
    root = f"/api/{t.api_version}" if not t.group else f"/apis/{t.api_version}"
    ns = f"/namespaces/{namespace}" if t.namespaced and namespace else ""
    return f"{root}{ns}/{t.plural}" + (f"/{name}" if name else "")


def _error(session: Run, status: int, body: Any) -> int:
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    message = body.get("message", "") if isinstance(body, dict) else str(body)
    if status == 401:
        session.out.append("error: You must be logged in to the server (Unauthorized)\n")
    else:
        session.out.append(f"Error from server ({reason or status}): {message}\n")
    return 1


def _file(session: Run, name: str | None) -> bytes:
    if name is None:
        return b""
    data = session.files.get(name) or session.files.get(name.lstrip("./"))
    if data is None:
        raise KubectlError(f'the path "{name}" does not exist')
    return data


def _kubectl(session: Run, words: list[str]) -> int:
    args = _parse(words)
    if args.raw is not None:
        method = {"get": "GET", "create": "POST", "replace": "PUT", "delete": "DELETE"}.get(
            args.verb)
        if method is None:
            raise KubectlError(f"--raw is not supported by kubectl {args.verb}")
        status, body = session.request(method, args.raw, body=_file(session, args.file))
        if status >= 400:
            return _error(session, status, body)
        if isinstance(body, bytes):
            session.out.append(body.decode())
        else:
            session.out.append(body if isinstance(body, str) else json.dumps(body) + "\n")
        return 0
    if args.verb == "get":
        return _get(session, args)
    if args.verb == "patch":
        return _patch(session, args)
    if args.verb == "delete":
        return _delete(session, args)
    raise KubectlError(f'unknown command "{args.verb}" for "kubectl"')


def _qualified(t: ResourceType) -> str:
    return t.kind.lower() + (f".{t.group}" if t.group else "")


def _get(session: Run, args: Args) -> int:
    if not args.positional:
        raise KubectlError("You must specify the type of resource to get.")
    kinds, names = args.positional[0].split(","), args.positional[1:]
    ns = None if args.all_namespaces else (args.namespace or "default")
    items: list[dict[str, Any]] = []
    for kind in kinds:
        t = _type(kind)
        for name in names or [None]:  # type: ignore[list-item]
            status, body = session.request("GET", _path(t, ns if t.namespaced else None, name))
            if status >= 400:
                return _error(session, status, body)
            found = [body] if name else body.get("items", [])
            for obj in found:
                obj.setdefault("apiVersion", t.api_version)
                obj.setdefault("kind", t.kind)
            items += found
    single = len(kinds) == 1 and len(names) == 1
    if args.output in ("json", "yaml"):
        doc: Any = items[0] if single else {"apiVersion": "v1", "items": items, "kind": "List",
                                           "metadata": {"resourceVersion": ""}}
        session.out.append(json.dumps(doc, indent=4) + "\n" if args.output == "json"
                           else yaml.safe_dump(doc, sort_keys=False))
    elif args.output == "name":
        session.out += [f"{_qualified(_type(kinds[0]))}/{o['metadata']['name']}\n"
                        for o in items]
    elif not items:
        where = f" in {ns} namespace" if ns else ""
        session.out.append(f"No resources found{where}.\n")
    else:
        rows = [(["NAMESPACE"] if args.all_namespaces else []) + ["NAME"]]
        rows += [([o["metadata"].get("namespace", "")] if args.all_namespaces else [])
                 + [o["metadata"]["name"]] for o in items]
        width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        session.out += ["   ".join(c.ljust(w) for c, w in zip(r, width, strict=True)).rstrip()
                        + "\n"
                        for r in rows]
    return 0


def _patch(session: Run, args: Args) -> int:
    if len(args.positional) != 2 or args.patch is None:
        raise KubectlError("kubectl patch KIND NAME -p PATCH is the supported form")
    t = _type(args.positional[0])
    content_type = PATCH_TYPES.get(args.patch_type)
    if content_type is None:
        raise KubectlError(f'--type must be one of [json merge strategic], not "{args.patch_type}"')
    status, body = session.request("PATCH", _path(t, args.namespace or "default",
                                                  args.positional[1]),
                                   body=args.patch.encode(), content_type=content_type)
    if status >= 400:
        return _error(session, status, body)
    if args.output == "json":
        session.out.append(json.dumps(body, indent=4) + "\n")
    else:
        session.out.append(f"{_qualified(t)}/{args.positional[1]} patched\n")
    return 0


def _delete(session: Run, args: Args) -> int:
    if len(args.positional) < 2:
        raise KubectlError("resource(s) were provided, but no name was specified")
    t = _type(args.positional[0])
    for name in args.positional[1:]:
        status, body = session.request("DELETE", _path(t, args.namespace or "default", name))
        if status >= 400:
            return _error(session, status, body)
        session.out.append(f'{_qualified(t)} "{name}" deleted\n')
    return 0
