"""A tiny HTTP proxy in front of a real Prefect server that a test controls: it answers some
requests with ``503 Service Unavailable`` (what a load balancer in front of a restarting
Prefect server says) and forwards the rest, websockets (Prefect's events stream) included.

Each request gets its own upstream connection (``Connection: close``), so the proxy never has
to understand chunked responses; a websocket upgrade is piped both ways as bytes."""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Rule:
    """Answer 503 to requests whose ``METHOD path`` matches ``pattern``: every ``every``-th
    one (1 = all), with ``Retry-After: retry_after`` seconds."""

    pattern: str
    every: int = 1
    retry_after: int = 1
    seen: int = 0


@dataclass
class Proxy:
    upstream: str  # the Prefect API URL, e.g. http://127.0.0.1:4200/api
    rules: list[Rule] = field(default_factory=list)
    served_503: list[str] = field(default_factory=list)
    forwarded: int = 0

    def start(self) -> str:
        """Serve on a free port in a background thread; returns the proxied API URL."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def main() -> None:
            self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            async with self._server:
                try:
                    await self._server.serve_forever()
                except asyncio.CancelledError:
                    return  # stopped

        self._thread = threading.Thread(
            target=lambda: self._loop.run_until_complete(main()) if not self._loop.is_closed()
            else None, daemon=True)
        self._thread.start()
        ready.wait(10)
        u = urlsplit(self.upstream)
        return f"http://127.0.0.1:{self.port}{u.path}"

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)

    def _fault(self, line: str) -> Rule | None:
        for rule in self.rules:
            if re.search(rule.pattern, line):
                rule.seen += 1
                if rule.seen % rule.every == 0:
                    return rule
        return None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target = lines[0].split(" ")[:2]
        headers = {k.strip().lower(): v.strip() for k, v in
                   (h.split(":", 1) for h in lines[1:] if ":" in h)}
        body = b""
        if int(headers.get("content-length", "0") or 0):
            body = await reader.readexactly(int(headers["content-length"]))
        websocket = headers.get("upgrade", "").lower() == "websocket"
        rule = None if websocket else self._fault(f"{method} {urlsplit(target).path}")
        if rule is not None:
            self.served_503.append(f"{method} {urlsplit(target).path}")
            msg = b'{"detail":"Service Unavailable"}'
            writer.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
                         + f"retry-after: {rule.retry_after}\r\ncontent-length: {len(msg)}\r\n"
                           "connection: close\r\n\r\n".encode() + msg)
            await writer.drain()
            writer.close()
            return
        u = urlsplit(self.upstream)
        try:
            up_r, up_w = await asyncio.open_connection(u.hostname, u.port)
        except OSError:
            writer.close()
            return
        kept = [ln for ln in lines[1:] if ln and not ln.lower().startswith("connection:")]
        if websocket:
            kept.append("Connection: Upgrade")
        else:
            kept.append("Connection: close")
        up_w.write(("\r\n".join([lines[0], *kept]) + "\r\n\r\n").encode("latin-1") + body)
        await up_w.drain()
        self.forwarded += 1

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        if websocket:
            await asyncio.gather(pipe(up_r, writer), pipe(reader, up_w))
        else:  # one request, one response: the upstream closes when it is sent
            await pipe(up_r, writer)
            up_w.close()
