"""A real Azure Blob Storage-protocol server for tests: npm `azurite` (blob service only, in memory), run as a
subprocess on loopback. Installed by `make test` (`npm ci --prefix tools/azurite`)."""

from __future__ import annotations

from tests.node_server import ROOT, NodeServer, node_unavailable_reason

AZURITE_BLOB_JS = ROOT / "tools/azurite/node_modules/azurite/dist/src/blob/main.js"
ACCOUNT = "devstoreaccount1"
# Azurite's documented well-known development account key (public; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def unavailable_reason() -> str | None:
    return node_unavailable_reason(AZURITE_BLOB_JS, "azurite")


class AzuriteBlobServer(NodeServer):
    def __init__(self) -> None:
        super().__init__("azurite", AZURITE_BLOB_JS)

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};"
        )

    async def __aenter__(self) -> AzuriteBlobServer:
        args = ["--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--inMemoryPersistence"]
        await self.spawn([*args, "--skipApiVersionCheck", "--loose"], timeout=20)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.terminate()
