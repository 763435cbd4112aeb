"""`python -m apps.realtime_server --host 127.0.0.1 --port 8765 --api-key KEY`: the standalone server on
the embedded speech stack. The key may come from `REALTIME_API_KEY`; without one the server refuses to
start. `REALTIME_SECRET_KEY` (optional) signs client secrets so several servers can share them."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
from pathlib import Path

import uvicorn

from apps.realtime_server.app import create_realtime_app
from apps.realtime_server.auth import ClientSecretSigner, RealtimeAuth
from apps.realtime_server.engine import build_embedded_engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.realtime_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default=os.environ.get("REALTIME_API_KEY"))
    parser.add_argument("--agents-dir", type=Path, default=None, help="extra registry folder")
    parser.add_argument("--voice", default=os.environ.get("TTS_VOICE", "en-us"), help="espeak-ng voice")
    args = parser.parse_args(argv)
    if not args.api_key:
        print("refusing to start without an API key: pass --api-key or set REALTIME_API_KEY", file=sys.stderr)
        return 2
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    signing = os.environ.get("REALTIME_SECRET_KEY")
    signer = ClientSecretSigner(signing.encode() if signing else secrets.token_bytes(32))
    auth = RealtimeAuth([args.api_key], signer)

    async def serve() -> None:
        # One event loop for the engine and the server: the providers' loop-bound helpers are created here.
        engine = await build_embedded_engine([args.agents_dir] if args.agents_dir else [], voice=args.voice)
        config = uvicorn.Config(
            create_realtime_app(engine, auth), host=args.host, port=args.port, ws_max_size=32 * 1024 * 1024
        )
        await uvicorn.Server(config).serve()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
