"""The way clients reach registry hosts: an HTTP CONNECT forward proxy on 127.0.0.1.

Registry hosts keep Azure's names (``<name>.azurecr.io``, ``<name>.<region>.data.azurecr.io``),
which do not resolve on this machine. The proxy is the simulated internet's DNS and routing: a
CONNECT to a registry host that exists in the world is tunnelled to the simulator's HTTPS port
(whose certificate carries the registry names); any other name does not resolve, and the proxy
answers as a forward proxy does when its DNS lookup fails. Nothing is ever tunnelled elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from typing import Any

from simulator.containerregistry.models import registry_for_host

log = logging.getLogger("simulator")


def _response(status: str, body: str) -> bytes:
    data = body.encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data


class RegistryProxy:
    def __init__(self, server: Any, *, port: int = 0) -> None:
        self.server = server  # simulator.server.SimServer: world, port
        # IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted connections (see SimServer._bind)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            # a restarted simulator keeps its proxy's port, so running clients still reach it
            self.sock.bind(("127.0.0.1", port))
        except OSError:
            self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None

    def _known(self, host: str) -> bool:
        world = self.server.world
        with world.lock:
            return registry_for_host(world, host) is not None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = line.partition(" ")
        target = rest.split(" ", 1)[0]
        if method.upper() != "CONNECT":
            writer.write(_response("405 Method Not Allowed", "only CONNECT is supported\n"))
            await writer.drain()
            writer.close()
            return
        host, _, port = target.rpartition(":")
        host = host.strip("[]").lower()
        if not self._known(host):
            # what a Go forward proxy says when the name does not resolve
            writer.write(_response("502 Bad Gateway",
                                   f"dial tcp: lookup {host}: no such host\n"))
        elif port != "443":
            writer.write(_response("502 Bad Gateway",
                                   f"dial tcp {host}:{port}: connect: connection refused\n"))
        else:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1",
                                                                     self.server.port)
            except OSError as exc:
                writer.write(_response("502 Bad Gateway", f"dial tcp {host}:443: {exc}\n"))
            else:
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
                return
        await writer.drain()
        writer.close()

    async def _serve(self) -> None:
        srv = await asyncio.start_server(self._handle, sock=self.sock)
        async with srv:
            await srv.serve_forever()

    def start(self) -> None:
        """Serve in a daemon thread with its own event loop (uvicorn owns the main one)."""
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._serve())
            except (asyncio.CancelledError, RuntimeError):
                pass

        threading.Thread(target=run, name="registry-proxy", daemon=True).start()

    def stop(self) -> None:
        if self._loop is not None:
            for task in asyncio.all_tasks(self._loop):
                self._loop.call_soon_threadsafe(task.cancel)
