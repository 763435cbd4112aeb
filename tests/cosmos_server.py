"""A real Cosmos DB-protocol server for tests: npm `@vercel/cosmosdb-server`, run as a subprocess on loopback.

Installed by `make test` (`npm ci --prefix tools/cosmosdb-server`). It keeps everything in memory, so
`kill()` + `restart()` comes back on the same port with no databases at all: anything it had acknowledged is
gone. Tests that restart it therefore kill it before a write is acknowledged (that is the outage being tested).
It ignores the auth key, speaks plain http with `--no-ssl`, answers 500 for a missing document and has no
TTL, change feed or batch.
"""

from __future__ import annotations

from tests.node_server import ROOT, NodeServer, node_unavailable_reason

SERVER_JS = ROOT / "tools/cosmosdb-server/node_modules/@vercel/cosmosdb-server/lib/cli.js"
# The public emulator key: the SDK needs a well-formed base64 key, the server ignores it.
EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="


def unavailable_reason() -> str | None:
    """Why the server cannot run here (for pytest.skip), or None."""
    return node_unavailable_reason(SERVER_JS, "@vercel/cosmosdb-server")


class CosmosServer(NodeServer):
    """`kill()` is SIGKILL: in-flight requests break, later ones are refused, all data is lost."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__("cosmosdb-server", SERVER_JS, port)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 15.0) -> None:
        await self.spawn(["--no-ssl", "--host", "127.0.0.1", "--port", str(self.port)], timeout)

    async def restart(self) -> None:
        await self.kill()
        await self.start()

    async def __aenter__(self) -> CosmosServer:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.kill()
