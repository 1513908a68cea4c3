"""A TCP proxy on 127.0.0.1 that misbehaves on request, for reliability tests.

    async with FaultProxy("127.0.0.1", 5432) as proxy:
        dsn = proxy.dsn(real_dsn)          # the same DSN, through the proxy
        proxy.drop_after(200_000)          # cut each connection after 200 kB more client → server
        ...
        proxy.heal()                       # back to passing everything

Modes (each applies to the connections already open and to new ones):

* ``heal()`` — pass everything through (the initial mode);
* ``drop_after(n)`` — forward at most ``n`` more bytes client → server on each connection,
  then cut it (both sides closed, mid-message if that is where the count ends);
* ``stall()`` — forward nothing in either direction (sockets stay open, so the peers see
  silence, not an error) until another mode is chosen;
* ``refuse()`` — stop listening (new connections get "connection refused") and cut the open
  ones; ``heal()`` listens on the same port again;
* ``slow(delay, chunk=…)`` — forward every packet, each after ``delay`` seconds, in pieces
  of at most ``chunk`` bytes.

Bounded and self-stopping: at most one chunk (64 kB) is held per direction and connection
(the proxy stops reading while it cannot write, so TCP back-pressure does the rest), and the
proxy shuts itself down after ``lifetime`` seconds even if a test forgets to.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

CHUNK = 65_536


@dataclass
class Stats:
    connections: int = 0
    refused: int = 0
    cut: int = 0
    bytes_up: int = 0
    """client → server, forwarded"""
    bytes_down: int = 0
    """server → client, forwarded"""


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    budget: int | None = None
    """Bytes client → server still allowed in drop mode (None: no limit)."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closed: bool = False

    def cut(self) -> None:
        if self.closed:
            return
        self.closed = True
        for writer in (self.client, self.server):
            writer.transport.abort()
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int, *, port: int = 0, lifetime: float = 120.0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = "127.0.0.1"
        self.port = port
        self.lifetime = lifetime
        self.stats = Stats()
        self.mode = "pass"
        self._drop_after: int | None = None
        self._delay = 0.0
        self._chunk = CHUNK
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._links: set[_Link] = set()
        self._server: asyncio.AbstractServer | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._stopped = False
        self._closing: asyncio.Future[None] | None = None

    # -- life cycle ----------------------------------------------------------------------------
    async def start(self) -> FaultProxy:
        await self._listen()
        self.port = self._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._expiry = asyncio.get_running_loop().call_later(self.lifetime, self._expire)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port, reuse_address=True)

    def _expire(self) -> None:
        asyncio.ensure_future(self.stop())

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._expiry is not None:
            self._expiry.cancel()
        await self._close_listener()
        self._flowing.set()
        for link in list(self._links):
            link.cut()
        tasks = [task for link in self._links for task in link.tasks]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._links.clear()

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def dsn(self, dsn: str) -> str:
        """``dsn`` with its host and port replaced by the proxy's (user, password, database kept)."""
        parts = urlsplit(dsn)
        auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit((parts.scheme, f"{auth}{self.host}:{self.port}", parts.path, parts.query, parts.fragment))

    # -- modes -----------------------------------------------------------------------------------
    def heal(self) -> None:
        """Pass everything again (and listen again after ``refuse``)."""
        self._set("pass")
        self._flowing.set()
        if self._server is None and not self._stopped:
            asyncio.ensure_future(self._listen())

    async def healed(self, timeout: float = 30.0) -> None:
        """``heal`` and wait until the proxy listens again."""
        self.heal()
        deadline = time.monotonic() + timeout
        while self._server is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"the fault proxy did not listen again within {timeout:g}s")
            await asyncio.sleep(0.01)

    async def settled(self) -> None:
        """Wait until the mode just set is in force: after ``refuse``, the listener is closed."""
        if self._closing is not None:
            await self._closing
            self._closing = None

    def drop_after(self, n: int) -> None:
        self._set("drop")
        self._drop_after = n
        for link in self._links:
            link.budget = n
        self._flowing.set()

    def stall(self) -> None:
        self._set("stall")
        self._flowing.clear()

    def refuse(self) -> None:
        self._set("refuse")
        self._flowing.set()
        for link in list(self._links):
            link.cut()
        self.stats.cut += len(self._links)
        self._closing = asyncio.ensure_future(self._close_listener())

    def slow(self, delay: float, chunk: int = CHUNK) -> None:
        self._set("slow")
        self._delay = delay
        self._chunk = max(1, min(chunk, CHUNK))
        self._flowing.set()

    def cut_all(self) -> None:
        """Cut every open connection now (the mode stays)."""
        self.stats.cut += len(self._links)
        for link in list(self._links):
            link.cut()

    def _set(self, mode: str) -> None:
        self.mode = mode
        self._drop_after = None
        self._delay = 0.0
        self._chunk = CHUNK
        for link in self._links:
            link.budget = None

    # -- forwarding --------------------------------------------------------------------------------
    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.mode == "refuse" or self._stopped:
            self.stats.refused += 1
            client_writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            return
        self.stats.connections += 1
        link = _Link(client_writer, server_writer, budget=self._drop_after)
        self._links.add(link)
        link.tasks = [asyncio.ensure_future(self._pump(link, client_reader, server_writer, up=True)),
                      asyncio.ensure_future(self._pump(link, server_reader, client_writer, up=False))]
        try:
            await asyncio.gather(*link.tasks, return_exceptions=True)
        finally:
            link.cut()
            self._links.discard(link)

    async def _pump(self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, up: bool) -> None:
        try:
            while not link.closed:
                await self._flowing.wait()
                data = await reader.read(CHUNK)
                if not data:
                    break
                while data and not link.closed:
                    await self._flowing.wait()  # a stall may have begun while reading
                    piece, data = data[:self._chunk], data[self._chunk:]
                    if self._delay:
                        await asyncio.sleep(self._delay)
                    if up and link.budget is not None:
                        if len(piece) >= link.budget:
                            writer.write(piece[:link.budget])
                            self.stats.bytes_up += link.budget
                            with contextlib.suppress(Exception):
                                await writer.drain()
                            self.stats.cut += 1
                            link.cut()
                            return
                        link.budget -= len(piece)
                    writer.write(piece)
                    if up:
                        self.stats.bytes_up += len(piece)
                    else:
                        self.stats.bytes_down += len(piece)
                    await writer.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            link.cut()  # one side is gone: so is the other (as a real broken link would be)
