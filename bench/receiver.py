"""A light HTTP/1.1 receiver standing in for a platform in throughput benchmarks.

tests/platforms.py's Webhook (http.server, a thread per connection, HTTP/1.0) costs more
CPU per request than Herald's own worker does; on a 2-core machine that would measure the
stand-in instead of Herald. This one keeps connections alive, as platforms' front ends do,
and records only what the benchmarks count: arrival time, path, idempotency key, body.
"""

import asyncio
import json
import threading
import time
from dataclasses import dataclass


@dataclass
class Arrival:
    at: float
    path: str
    idempotency_key: str
    delivery_id: int
    body: bytes


class Receiver:
    def __init__(self):
        self.arrivals: list[Arrival] = []
        self.port = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Receiver":
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _close(self) -> None:
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader, writer) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                at = time.time()
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.arrivals.append(Arrival(at, path, headers.get("idempotency-key", ""),
                                             int(headers.get("x-herald-delivery", 0)), body))
                reply = json.dumps({"id": str(len(self.arrivals))}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(reply), reply))
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError):
            pass
        finally:
            writer.close()
