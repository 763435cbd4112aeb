"""The VoiceLiveOrchestrator under test: the real SDK connection over a scripted realtime server socket, a real
PacedPlayout over a counting sink, the shipped agents and tools on the demo data in the embedded Redis."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from redis.asyncio import Redis

from registries.agentstore.schema import SpeechSpec
from registries.loader import load_registry
from tests.call_doubles import Control, CountingSink, MemoryTranscripts, Observer, Telemetry
from tests.support import eventually
from tests.unit.voicelive.fakes import FakeRealtime, FakeWebSocket, audio_delta
from voice.session.config import CallConfig
from voice.session.conversation import CallConversation, ConversationState
from voice.session.orchestrator import CallDeps
from voice.transcript import TranscriptTurn
from voice.transports.playout import PacedPlayout
from voice.voicelive.config import VoiceLiveSettings
from voice.voicelive.orchestrator import VoiceLiveOrchestrator

SNAPSHOT = load_registry()
RATE = 16000
FRAME = RATE // 50 * 2
GREETING_START = "Thank you for calling Contoso Bank"


class Harness:
    def __init__(
        self,
        redis: Redis,
        *,
        barge_in: bool = True,
        refuse: int = 0,
        config: CallConfig | None = None,
        local_barge_in: bool = True,
        usage_provider: str = "azure-voicelive",
    ) -> None:
        self.server = FakeRealtime()
        self.server.refuse = refuse
        self.sink = CountingSink()
        self.playout = PacedPlayout(self.sink, frame_bytes=FRAME)
        self.control = Control()
        self.transcripts = MemoryTranscripts()
        self.telemetry = Telemetry()
        self.observer = Observer()
        self.saved: list[ConversationState] = []
        agent = SNAPSHOT.start_agent("banking")
        if not barge_in:
            agent = agent.model_copy(update={"speech": SpeechSpec(barge_in=False)})
        self.conversation = CallConversation(
            call_id="call-1",
            caller="+14255550123",
            snapshot=SNAPSHOT,
            scenario=SNAPSHOT.scenarios["banking"],
            agent=agent,
            redis=redis,
        )
        settings = VoiceLiveSettings(
            endpoint="http://127.0.0.1:9",
            api_key="test-key",
            connect_timeout_s=2,
            response_timeout_s=5,
            local_barge_in=local_barge_in,
            usage_provider=usage_provider,
        )
        deps = CallDeps(
            conversation=self.conversation,
            call_control=self.control,
            transcripts=self.transcripts,
            observer=self.observer,
            config=config or CallConfig(dtmf_timeout_s=0.2),
            save_state=self.saved.append,
            telemetry=self.telemetry,
        )
        self.orch = VoiceLiveOrchestrator(deps, settings=settings, connect=self.server.connect)
        self._responses = 0

    async def __aenter__(self) -> Harness:
        self._playout_task = asyncio.create_task(self.playout.run())
        await self.orch.start(sample_rate=RATE, playout=self.playout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.orch.aclose("test over")
        self._playout_task.cancel()

    @property
    def ws(self) -> FakeWebSocket:
        return self.server.ws

    async def sent(self, kind: str, count: int = 1, ws: FakeWebSocket | None = None) -> list[dict[str, Any]]:
        """Wait until the orchestrator has sent `count` events of `kind` (on `ws`); returns them all."""

        def check() -> list[dict[str, Any]] | None:
            if not self.server.sockets:
                return None
            events = (ws or self.ws).of_type(kind)
            return events if len(events) >= count else None

        return await eventually(check)

    async def caller_audio(self, ms: int) -> None:
        for _ in range(ms // 20):
            await self.orch.on_audio(bytes(FRAME), ())

    async def caller_vad(self, probabilities: list[float]) -> None:
        """Caller frames, each completing one VAD window with the given speech probability."""
        for probability in probabilities:
            await self.orch.on_audio(bytes(FRAME), (probability,))

    def respond(self, text: str, *, audio_ms: int = 200, done: bool = True, tagged: bool = True) -> str:
        """The server answers the latest response.create (echoing its metadata) or speaks on its own."""
        self._responses += 1
        rid, item = f"resp_{self._responses}", f"item_{self._responses}"
        created: dict[str, Any] = {"id": rid, "status": "in_progress", "output": []}
        requests = self.ws.of_type("response.create")
        if tagged and requests:
            created["metadata"] = requests[-1]["response"].get("metadata")
        self.ws.push({"type": "response.created", "response": created})
        for _ in range(audio_ms // 100):
            self.ws.push(audio_delta(bytes(RATE // 10 * 2), response_id=rid, item_id=item))
        self.ws.push(
            {
                "type": "response.audio_transcript.done",
                "response_id": rid,
                "item_id": item,
                "transcript": text,
            }
        )
        if done:
            self.finish(rid, item)
        return rid

    def finish(
        self, rid: str, item: str | None = None, status: str = "completed", output: list[Any] | None = None
    ) -> None:
        if item is not None:
            self.ws.push({"type": "response.audio.done", "response_id": rid, "item_id": item})
        self.ws.push(
            {"type": "response.done", "response": {"id": rid, "status": status, "output": output or []}}
        )

    def function_call(self, name: str, arguments: dict[str, Any], call_id: str = "call_1") -> None:
        self._responses += 1
        rid = f"resp_{self._responses}"
        call = {"type": "function_call", "name": name, "call_id": call_id, "arguments": json.dumps(arguments)}
        self.ws.push({"type": "response.created", "response": {"id": rid, "status": "in_progress"}})
        self.ws.push(
            {
                "type": "response.function_call_arguments.done",
                "response_id": rid,
                "item_id": "fc",
                "output_index": 0,
                **{k: call[k] for k in ("name", "call_id", "arguments")},
            }
        )
        self.finish(rid, output=[{**call, "id": "fc", "status": "completed"}])

    async def greeted(self) -> None:
        """The greeting was asked for, generated and fully played."""
        await self.sent("response.create")
        self.respond(
            self.ws.of_type("response.create")[0]["response"]["pre_generated_assistant_message"]["content"][
                0
            ]["text"]
        )
        await eventually(lambda: self.agent_turns())

    def agent_turns(self) -> list[TranscriptTurn]:
        return [t for t in self.observer.turns if t.speaker == "agent"]
