"""Serving the simulated cloud over HTTPS on 127.0.0.1.

One port serves ARM, Entra (OpenID configuration, JWKS, token), the managed-identity endpoint,
Microsoft Graph and the control API, told apart by path, as a sovereign cloud's hosts would
be. When the socket is listening, a JSON *connection file* tells clients everything they need.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import socket
import threading
from pathlib import Path
from typing import Any

import uvicorn

from simulator.core.dispatch import Dispatcher, render
from simulator.core.tls import ensure_tls
from simulator.core.tokens import TokenIssuer
from simulator.core.world import World

log = logging.getLogger("simulator")

ARM_AUDIENCE = "https://management.pullfix.sim/"
CLOUD_NAME = "PullfixSimulator"


class StartError(Exception):
    """The simulator cannot start; the message says why and what to do."""


class SimServer:
    def __init__(self, world: World, state_dir: Path, *, port: int = 0) -> None:
        self.world = world
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        self.tls = ensure_tls(state_dir / "tls")
        self.sock = self._bind(port)
        self.port = self.sock.getsockname()[1]
        self.base_url = f"https://127.0.0.1:{self.port}/"
        self.login_endpoint = self.base_url
        self.graph_endpoint = self.base_url
        self.arm_audiences = [ARM_AUDIENCE, ARM_AUDIENCE.rstrip("/")]
        self.graph_audiences = [self.graph_endpoint, self.graph_endpoint.rstrip("/"),
                                "https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"]
        self.issuer = TokenIssuer(state_dir / "signing-key.pem", self.base_url)
        keys_path = state_dir / "keys.json"
        if keys_path.exists():
            keys = json.loads(keys_path.read_text())
        else:
            keys = {"control": secrets.token_urlsafe(24), "identity_header": secrets.token_urlsafe(24)}
            keys_path.write_text(json.dumps(keys))
            keys_path.chmod(0o600)
        self.control_key = keys["control"]
        self.identity_header = keys["identity_header"]
        self.dispatcher = Dispatcher(self)
        from simulator.registry.proxy import RegistryProxy

        # registry hosts keep Azure's names; clients reach them through this CONNECT proxy,
        # on the same port after a restart with the same state directory (clients keep its URL)
        proxy_port = state_dir / "proxy-port"
        self.registry_proxy = RegistryProxy(
            self, port=int(proxy_port.read_text()) if proxy_port.exists() else 0)
        proxy_port.write_text(str(self.registry_proxy.port))
        self.uvicorn: uvicorn.Server | None = None
        self._persist = False

    @staticmethod
    def _bind(port: int) -> socket.socket:
        # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto
        # says TCP, and accepted sockets inherit it; with Nagle on, a response whose body follows
        # its headers waits for the client's delayed ACK (40 ms per request)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise StartError(
                    f"port {port} on 127.0.0.1 is already in use; stop what is listening there "
                    "or pass another --port (0 picks a free one)"
                ) from exc
            raise StartError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc
        sock.listen(128)
        return sock

    # -- state ---------------------------------------------------------------------------------
    def enable_persistence(self) -> None:
        self._persist = True

    def persist(self) -> None:
        if self._persist:
            self.world.save(self.state_dir)

    # -- the endpoints clients need ----------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        b = self.base_url
        return {
            "name": CLOUD_NAME,
            "portal": b,
            "authentication": {
                "loginEndpoint": b,
                "audiences": [ARM_AUDIENCE, ARM_AUDIENCE.rstrip("/")],
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "media": b,
            "graphAudience": b,
            "graph": b,
            "microsoftGraphResourceId": b,
            "batch": b,
            "resourceManager": b,
            "sqlManagement": b,
            "gallery": b,
            "vmImageAliasDoc": b + "metadata/vm-image-aliases",
            "activeDirectoryDataLake": b,
            "suffixes": {
                "acrLoginServer": "azurecr.io",
                "keyVaultDns": "vault.pullfix.sim",
                "storage": "storage.pullfix.sim",
                "sqlServerHostname": "sql.pullfix.sim",
                "azureDataLakeStoreFileSystem": "adls.pullfix.sim",
                "azureDataLakeAnalyticsCatalogAndJob": "adla.pullfix.sim",
            },
        }

    def connection(self) -> dict[str, Any]:
        from simulator.identity.models import operator_credentials

        op = operator_credentials(self.world)
        ca = str(self.tls.ca_cert)
        subs = sorted(self.world.state["subscriptions"])
        env = {
            "PULLFIX_ARM_ENDPOINT": self.base_url,
            "AZURE_AUTHORITY_HOST": self.login_endpoint,
            "AZURE_TENANT_ID": self.world.tenant_id,
            "AZURE_CLIENT_ID": op["client_id"],
            "AZURE_CLIENT_SECRET": op["client_secret"],
            "AZURE_SUBSCRIPTION_ID": subs[0] if subs else "",
            "IDENTITY_ENDPOINT": self.base_url + "msi/token",
            "IDENTITY_HEADER": self.identity_header,
            "REQUESTS_CA_BUNDLE": ca,
            "SSL_CERT_FILE": ca,
            "CURL_CA_BUNDLE": ca,
            "PULLFIX_REGISTRY_PROXY": self.registry_proxy.url,
        }
        return {
            "cloud_name": CLOUD_NAME,
            "arm_endpoint": self.base_url,
            "login_endpoint": self.login_endpoint,
            "graph_endpoint": self.graph_endpoint,
            "arm_audience": ARM_AUDIENCE,
            "tenant_id": self.world.tenant_id,
            "ca_bundle": ca,
            "subscriptions": subs,
            "scenario": self.world.state["scenario"].get("name"),
            "service_principal": {
                "client_id": op["client_id"],
                "client_secret": op["client_secret"],
                "object_id": op["object_id"],
            },
            "managed_identity": {
                "client_id": op["mi_client_id"],
                "principal_id": op["mi_principal_id"],
                "identity_endpoint": env["IDENTITY_ENDPOINT"],
            },
            "control": {"url": self.base_url + "_sim/", "key": self.control_key},
            "registry_proxy": self.registry_proxy.url,
            "pid": os.getpid(),
            "env": env,
        }

    def write_connection_file(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(self.connection(), indent=2))
        tmp.replace(path)

    # -- ASGI ----------------------------------------------------------------------------------
    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", f"127.0.0.1:{self.port}")
        reply, fault = await self.dispatcher.handle(
            scope["method"], scope["path"], scope.get("query_string", b"").decode(), headers,
            body, f"https://{host}",
        )
        if fault and fault.get("drop"):
            # promise a body and hang up: the client sees a broken connection
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b"{", "more_body": False})
            return
        status, raw_headers, data = render(reply)
        if fault and fault.get("retry_after") is not None:
            raw_headers.append((b"retry-after", str(fault["retry_after"]).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": data if scope["method"] != "HEAD"
                    else b""})

    def serve(self, connection_file: Path | None, ready: threading.Event | None = None) -> None:
        config = uvicorn.Config(
            self.app,
            ssl_certfile=str(self.tls.server_cert),
            ssl_keyfile=str(self.tls.server_key),
            log_level="warning",
            lifespan="on",
            interface="asgi3",
            timeout_keep_alive=30,
        )
        self.uvicorn = uvicorn.Server(config)

        def announce() -> None:
            import time

            while self.uvicorn is not None and not self.uvicorn.started:
                if self.uvicorn.should_exit:
                    return
                time.sleep(0.02)
            if connection_file:
                self.write_connection_file(connection_file)
            if ready:
                ready.set()

        threading.Thread(target=announce, daemon=True).start()
        self.registry_proxy.start()
        self.uvicorn.run(sockets=[self.sock])
        self.registry_proxy.stop()
        self.persist()

    def stop(self) -> None:
        if self.uvicorn:
            self.uvicorn.should_exit = True
