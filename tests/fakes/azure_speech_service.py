"""A local fake of the Azure Speech service that the real Speech SDK talks to over loopback.

The SDK addresses Speech containers as `SpeechConfig(host="ws://127.0.0.1:PORT", subscription=key)`: plain
WebSocket, key in the `Ocp-Apim-Subscription-Key` upgrade header, subprotocol `USP`. This server speaks enough
of that protocol (USP: text frames of `Name:value` header lines, a blank line and a body; binary frames with a
2-byte big-endian header length, the header lines and a payload) for recognition and synthesis to run for real.

Recognition (`/speech/recognition/conversation/cognitiveservices/v1?language=..[&lidEnabled=..][&format=..]`):
the client sends `speech.config`, `speech.context` (phrase list under `dgi`, language id, segmentation), then
`audio` (first frame a WAV header, empty payload = end of stream). The fake segments the PCM by energy, like
the service segments by silence: `turn.start` on the first audio, `speech.startDetected` on the first voiced
frame, `speech.hypothesis` every `hypothesis_interval_ms` while speaking (the scripted words revealed one by
one), `speech.phrase` once silence lasts the segmentation timeout (from `speech.context`, else 500 ms), and
`speech.endDetected` + `turn.end` at end of stream. Offsets are 100 ns ticks from the start of the audio.
What is "heard" is scripted: each utterance takes the next `script(...)` entry, or is a `NoMatch`. Like the
service, it takes 8 or 16 kHz audio only (else close code 1007 "Unsupported audio format.").

Synthesis (`/cognitiveservices/websocket/v1`): the client sends `speech.config`, `synthesis.context` (output
format) and `ssml`; the fake answers `turn.start`, `response`, binary `audio` frames of a deterministic tone
(length proportional to the text) in the requested raw PCM format, the `SessionEnd` metadata and `turn.end`.
An unknown voice is refused like the service does: close code 1007 "Unsupported voice <name>.".

Everything the SDK sent is recorded (`connections`, `recognitions`, `syntheses`). A wrong key is refused at
the upgrade with 401, as the service does; more failures can be switched on (`reject_connections`,
`break_recognition`, `break_synthesis`).

    async with AzureSpeechService(key="k") as service:
        service.script("check my balance")
        config = speechsdk.SpeechConfig(host=service.host, subscription="k")
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

TICKS_PER_SECOND = 10_000_000
RECOGNITION_PATH = "/speech/recognition/conversation/cognitiveservices/v1"
SYNTHESIS_PATH = "/cognitiveservices/websocket/v1"
DEFAULT_SEGMENTATION_SILENCE_MS = 500
DEFAULT_VOICES = frozenset(
    {
        "en-US-AvaMultilingualNeural",
        "en-US-AndrewMultilingualNeural",
        "en-US-JennyNeural",
        "es-ES-ElviraNeural",
    }
)
_RAW_FORMAT = re.compile(r"raw-(\d+)(khz|hz)-16bit-mono-pcm")
_SSML_NS = "{http://www.w3.org/2001/10/synthesis}"


# ---------------------------------------------------------------------------------------------------------
# USP framing


@dataclass(frozen=True)
class UspMessage:
    path: str
    headers: dict[str, str]
    body: str | bytes


def _parse_headers(block: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def parse_message(frame: str | bytes) -> UspMessage:
    if isinstance(frame, str):
        block, _, body = frame.partition("\r\n\r\n")
        headers = _parse_headers(block)
        return UspMessage(headers.get("path", "").lower(), headers, body)
    size = int.from_bytes(frame[:2], "big")
    headers = _parse_headers(frame[2 : 2 + size].decode("ascii"))
    return UspMessage(headers.get("path", "").lower(), headers, frame[2 + size :])


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def text_frame(path: str, request_id: str, body: BaseModel | dict[str, Any]) -> str:
    payload = (
        body.model_dump_json(by_alias=True, exclude_none=True)
        if isinstance(body, BaseModel)
        else json.dumps(body)
    )
    head = (
        f"X-RequestId:{request_id}\r\nContent-Type:application/json; charset=utf-8\r\n"
        f"X-Timestamp:{_timestamp()}\r\nPath:{path}"
    )
    return f"{head}\r\n\r\n{payload}"


def audio_frame(request_id: str, stream_id: str, payload: bytes) -> bytes:
    head = f"X-RequestId:{request_id}\r\nX-StreamId:{stream_id}\r\nPath:audio\r\n".encode("ascii")
    return len(head).to_bytes(2, "big") + head + payload


# ---------------------------------------------------------------------------------------------------------
# Wire bodies. Lenient on input (the SDK sends much more than we read), exact field names on output.


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _DgiItem(_Lenient):
    text: str = Field("", alias="Text")


class _DgiGroup(_Lenient):
    type: str = Field("", alias="Type")
    items: list[_DgiItem] = Field(default_factory=list, alias="Items")


class _Dgi(_Lenient):
    groups: list[_DgiGroup] = Field(default_factory=list, alias="Groups")


class _LanguageId(_Lenient):
    languages: list[str] = Field(default_factory=list)
    mode: str | None = None


class SpeechContext(_Lenient):
    """`speech.context`: what the client asks of this recognition."""

    dgi: _Dgi | None = None
    language_id: _LanguageId | None = Field(None, alias="languageId")
    phrase_detection: dict[str, Any] = Field(default_factory=dict, alias="phraseDetection")

    @property
    def phrases(self) -> list[str]:
        if self.dgi is None:
            return []
        return [item.text for group in self.dgi.groups if group.type == "Generic" for item in group.items]

    @property
    def segmentation_silence_ms(self) -> int | None:
        for mode in self.phrase_detection.values():
            if isinstance(mode, dict) and isinstance(mode.get("segmentation"), dict):
                value = mode["segmentation"].get("segmentationSilenceTimeoutMs")
                if isinstance(value, int):
                    return value
        return None


class _SynthesisAudio(_Lenient):
    output_format: str = Field("", alias="outputFormat")
    metadata_options: dict[str, Any] = Field(default_factory=dict, alias="metadataOptions")


class _Synthesis(_Lenient):
    audio: _SynthesisAudio = Field(default_factory=_SynthesisAudio)


class SynthesisContext(_Lenient):
    """`synthesis.context`: the output format and which metadata the client wants."""

    synthesis: _Synthesis = Field(default_factory=_Synthesis)


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class PrimaryLanguage(_Out):
    language: str = Field(alias="Language")
    confidence: str = Field("High", alias="Confidence")


class SpeechDetected(_Out):
    offset: int = Field(alias="Offset")


class SpeechHypothesis(_Out):
    text: str = Field(alias="Text")
    offset: int = Field(alias="Offset")
    duration: int = Field(alias="Duration")
    primary_language: PrimaryLanguage | None = Field(None, alias="PrimaryLanguage")


class NBestEntry(_Out):
    confidence: float = Field(alias="Confidence")
    lexical: str = Field(alias="Lexical")
    itn: str = Field(alias="ITN")
    masked_itn: str = Field(alias="MaskedITN")
    display: str = Field(alias="Display")


class SpeechPhrase(_Out):
    recognition_status: str = Field(alias="RecognitionStatus")
    offset: int = Field(alias="Offset")
    duration: int = Field(alias="Duration")
    display_text: str | None = Field(None, alias="DisplayText")
    nbest: list[NBestEntry] | None = Field(None, alias="NBest")
    primary_language: PrimaryLanguage | None = Field(None, alias="PrimaryLanguage")


# ---------------------------------------------------------------------------------------------------------
# Scripts and records


@dataclass(frozen=True)
class Utterance:
    """What the fake "hears" in the next voiced stretch."""

    text: str
    language: str | None = None
    """Reported as the detected language (language identification); default: the request's language."""
    confidence: float = 0.93


@dataclass
class RecognitionRecord:
    """One recognition WebSocket connection, as the SDK opened it."""

    path: str
    query: dict[str, str]
    headers: Headers
    speech_config: dict[str, Any] | None = None
    contexts: list[SpeechContext] = field(default_factory=list)
    messages: list[UspMessage] = field(default_factory=list)
    """Text messages in arrival order (audio is counted, not kept)."""
    sample_rate: int | None = None
    audio_bytes: int = 0
    phrases_sent: list[str] = field(default_factory=list)
    """DisplayText of each `speech.phrase` the fake sent (NoMatch as "")."""
    closed: bool = False

    @property
    def phrases(self) -> list[str]:
        """The phrase list of the latest `speech.context`."""
        return self.contexts[-1].phrases if self.contexts else []


@dataclass
class SynthesisRecord:
    """One `ssml` request."""

    headers: Headers
    context: SynthesisContext | None
    ssml: str
    voice: str | None = None
    text: str = ""
    sample_rate: int | None = None
    audio_bytes_sent: int = 0
    completed: bool = False
    """True once `turn.end` was sent; False if the client went away (or the fake failed) before."""


@dataclass(frozen=True)
class Failure:
    code: int
    reason: str


# ---------------------------------------------------------------------------------------------------------
# The server


class AzureSpeechService:
    """The fake service: one loopback WebSocket server for both recognition and synthesis."""

    def __init__(
        self,
        key: str = "test-speech-key",
        *,
        voices: Iterable[str] = DEFAULT_VOICES,
        energy_threshold: float = 500.0,
        hypothesis_interval_ms: int = 200,
        ms_per_character: int = 45,
        synthesis_speed: float = 20.0,
        tone_hz: float = 440.0,
    ) -> None:
        self.key = key
        self.voices = set(voices)
        self.energy_threshold = energy_threshold
        """RMS (int16 units) above which a 10 ms frame counts as speech."""
        self.hypothesis_interval_ms = hypothesis_interval_ms
        self.ms_per_character = ms_per_character
        self.synthesis_speed = synthesis_speed
        """Audio is sent this many times faster than real time (so a test can stop it half-way)."""
        self.tone_hz = tone_hz
        self.connections: list[str] = []
        """Path (with query) of every accepted WebSocket connection, in order."""
        self.recognitions: list[RecognitionRecord] = []
        self.syntheses: list[SynthesisRecord] = []
        self.reject_connections: int | None = None
        """HTTP status to refuse every WebSocket upgrade with (e.g. 503); None accepts."""
        self._utterances: deque[Utterance] = deque()
        self._recognition_failure: Failure | None = None
        self._synthesis_failure: Failure | None = None
        self._server: Server | None = None

    # -- lifecycle

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            subprotocols=[Subprotocol("USP")],
            process_request=self._check_upgrade,
            compression=None,
            # The SDK does not always answer a close frame (e.g. while it retries): don't wait 10 s for it.
            close_timeout=1.0,
        )

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> AzureSpeechService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def host(self) -> str:
        """What to pass as `SpeechConfig(host=...)`."""
        return f"ws://127.0.0.1:{self.port}"

    # -- scripting

    def script(self, *utterances: str | Utterance) -> None:
        """Queue what the next voiced stretches "say", in order (shared by all connections)."""
        for item in utterances:
            self._utterances.append(item if isinstance(item, Utterance) else Utterance(item))

    def break_recognition(self, code: int = 1011, reason: str = "Internal service error.") -> None:
        """Close every recognition connection with `code` at its next audio message (new ones included).

        1007 (bad request, e.g. quota) makes the SDK give up at once; 1011 (internal error) makes it
        reconnect a few times (about 2.5 s) before it gives up.
        """
        self._recognition_failure = Failure(code, reason)

    def break_synthesis(self, code: int = 1011, reason: str = "Internal service error.") -> None:
        """Answer every following `ssml` request by closing the connection with `code`."""
        self._synthesis_failure = Failure(code, reason)

    def heal(self) -> None:
        self._recognition_failure = None
        self._synthesis_failure = None
        self.reject_connections = None

    # -- connections

    def _check_upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.reject_connections is not None:
            return connection.respond(self.reject_connections, "Service unavailable\n")
        if request.headers.get("Ocp-Apim-Subscription-Key") != self.key:
            return connection.respond(401, "Access denied due to invalid subscription key.\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.connections.append(ws.request.path)
        try:
            path = urlsplit(ws.request.path).path
            if path == RECOGNITION_PATH:
                await self._recognize(ws)
            elif path == SYNTHESIS_PATH:
                await self._synthesize(ws)
            else:
                await ws.close(1008, f"Unknown path {path}")
        except ConnectionClosed:
            pass

    async def _recognize(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        split = urlsplit(ws.request.path)
        query = {name: values[-1] for name, values in parse_qs(split.query).items()}
        record = RecognitionRecord(split.path, query, ws.request.headers)
        self.recognitions.append(record)
        turn: _RecognitionTurn | None = None
        try:
            async for frame in ws:
                message = parse_message(frame)
                if isinstance(message.body, str):
                    record.messages.append(message)
                    if message.path == "speech.config":
                        record.speech_config = json.loads(message.body or "{}")
                    elif message.path == "speech.context":
                        record.contexts.append(SpeechContext.model_validate_json(message.body or "{}"))
                    continue
                if message.path != "audio":
                    continue
                if (failure := self._recognition_failure) is not None:
                    await ws.close(failure.code, failure.reason)
                    return
                request_id = message.headers.get("x-requestid", "")
                if turn is None or turn.request_id != request_id:
                    turn = _RecognitionTurn(self, ws, record, request_id)
                    await turn.start()
                await turn.feed(message)
                if turn.ended:
                    turn = None
        finally:
            record.closed = True

    async def _synthesize(self, ws: ServerConnection) -> None:
        context: SynthesisContext | None = None
        async for frame in ws:
            message = parse_message(frame)
            if message.path == "synthesis.context" and isinstance(message.body, str):
                context = SynthesisContext.model_validate_json(message.body or "{}")
            elif message.path == "ssml" and isinstance(message.body, str):
                assert ws.request is not None
                record = SynthesisRecord(ws.request.headers, context, message.body)
                self.syntheses.append(record)
                await self._answer_ssml(ws, message.headers.get("x-requestid", ""), record)

    async def _answer_ssml(self, ws: ServerConnection, request_id: str, record: SynthesisRecord) -> None:
        if (failure := self._synthesis_failure) is not None:
            await ws.close(failure.code, failure.reason)
            return
        try:
            root = ET.fromstring(record.ssml)
        except ET.ParseError as exc:
            await ws.close(1007, f"SSML parsing error: {exc}")
            return
        voice = root.find(f"{_SSML_NS}voice")
        record.voice = voice.get("name") if voice is not None else None
        record.text = "".join(voice.itertext() if voice is not None else root.itertext()).strip()
        if record.voice not in self.voices:
            await ws.close(1007, f"Unsupported voice {record.voice}.")
            return
        output_format = record.context.synthesis.audio.output_format if record.context else ""
        match = _RAW_FORMAT.fullmatch(output_format)
        if match is None:
            await ws.close(1007, f"Unsupported audio format {output_format}.")
            return
        rate = int(match.group(1)) * (1000 if match.group(2) == "khz" else 1)
        record.sample_rate = rate
        service_tag = uuid.uuid4().hex
        stream_id = uuid.uuid4().hex.upper()
        await ws.send(text_frame("turn.start", request_id, {"context": {"serviceTag": service_tag}}))
        await ws.send(
            text_frame(
                "response",
                request_id,
                {"context": {"serviceTag": service_tag}, "audio": {"type": "inline", "streamId": stream_id}},
            )
        )
        total = rate * max(100, len(record.text) * self.ms_per_character) // 1000
        chunk = rate // 10  # 100 ms frames, as the service sends for raw formats
        sent = 0
        while sent < total:
            n = min(chunk, total - sent)
            await ws.send(audio_frame(request_id, stream_id, self._tone(sent, n, rate)))
            record.audio_bytes_sent += 2 * n
            sent += n
            await asyncio.sleep(n / rate / self.synthesis_speed)
        metadata = record.context.synthesis.audio.metadata_options if record.context else {}
        if metadata.get("sessionEndEnabled"):
            offset = sent * TICKS_PER_SECOND // rate
            end = {"Metadata": [{"Type": "SessionEnd", "Data": {"Offset": offset}}]}
            await ws.send(text_frame("audio.metadata", request_id, end))
        await ws.send(text_frame("turn.end", request_id, {}))
        record.completed = True

    def _tone(self, start: int, count: int, rate: int) -> bytes:
        t = (np.arange(start, start + count, dtype=np.float64)) / rate
        return (np.sin(2 * math.pi * self.tone_hz * t) * 6000).astype("<i2").tobytes()

    def _next_utterance(self) -> Utterance | None:
        return self._utterances.popleft() if self._utterances else None


class _RecognitionTurn:
    """One USP turn of a recognition connection: audio in, segmentation by energy, results out."""

    _FRAME_MS = 10

    def __init__(
        self, service: AzureSpeechService, ws: ServerConnection, record: RecognitionRecord, request_id: str
    ) -> None:
        self.service = service
        self.ws = ws
        self.record = record
        self.request_id = request_id
        self.ended = False
        context = record.contexts[-1] if record.contexts else SpeechContext()
        self.silence_ms = context.segmentation_silence_ms or DEFAULT_SEGMENTATION_SILENCE_MS
        self.lid = bool(record.query.get("lidEnabled")) or context.language_id is not None
        self.language = (
            context.language_id.languages[0]
            if context.language_id and context.language_id.languages
            else record.query.get("language", "en-US")
        )
        self.detailed = record.query.get("format", "").lower() == "detailed"
        self.rate = 16000
        self.pending = b""
        self.position = 0  # samples of audio received in this turn
        self.start_detected = False
        # The utterance being heard: None between utterances.
        self.utterance: Utterance | None = None
        self.heard_words = 0
        self.speech_start = 0
        self.last_voiced_end = 0
        self.next_hypothesis = 0

    async def start(self) -> None:
        await self._send("turn.start", {"context": {"serviceTag": uuid.uuid4().hex}})

    def _ticks(self, samples: int) -> int:
        return samples * TICKS_PER_SECOND // self.rate

    async def _send(self, path: str, body: BaseModel | dict[str, Any]) -> None:
        await self.ws.send(text_frame(path, self.request_id, body))

    async def feed(self, message: UspMessage) -> None:
        payload = message.body
        assert isinstance(payload, bytes)
        if payload[:4] == b"RIFF":
            self.rate = int.from_bytes(payload[24:28], "little")
            self.record.sample_rate = self.rate
            if self.rate not in (8000, 16000):  # what the service takes from push streams
                await self.ws.close(1007, "Unsupported audio format.")
                return
            payload = payload[44:]
            if not payload:
                return
        if not payload:  # end of the audio stream
            await self._end_of_stream()
            return
        self.record.audio_bytes += len(payload)
        data = self.pending + payload
        frame_bytes = 2 * self.rate * self._FRAME_MS // 1000
        usable = len(data) - len(data) % frame_bytes
        self.pending = data[usable:]
        samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.float64)
        for frame in samples.reshape(-1, frame_bytes // 2):
            await self._frame(
                float(np.sqrt(np.mean(frame * frame))) > self.service.energy_threshold, len(frame)
            )

    async def _frame(self, voiced: bool, count: int) -> None:
        start, self.position = self.position, self.position + count
        if voiced:
            if self.utterance is None:
                self.utterance = self.service._next_utterance() or Utterance("")
                self.heard_words = 0
                self.speech_start = start
                self.next_hypothesis = start + self.rate * self.service.hypothesis_interval_ms // 1000
                if not self.start_detected:
                    self.start_detected = True
                    await self._send("speech.startDetected", SpeechDetected(Offset=self._ticks(start)))
            self.last_voiced_end = self.position
        if self.utterance is None:
            return
        if self.position >= self.next_hypothesis and voiced:
            self.next_hypothesis += self.rate * self.service.hypothesis_interval_ms // 1000
            await self._hypothesis()
        if self.position - self.last_voiced_end >= self.rate * self.silence_ms // 1000:
            await self._phrase()

    def _primary_language(self) -> PrimaryLanguage | None:
        if not self.lid or self.utterance is None:
            return None
        return PrimaryLanguage(Language=self.utterance.language or self.language)

    async def _hypothesis(self) -> None:
        assert self.utterance is not None
        words = self.utterance.text.split()
        if not words:
            return
        self.heard_words = min(len(words), self.heard_words + 1)
        text = " ".join(words[: self.heard_words]).lower().strip(".,!?")
        body = SpeechHypothesis(
            Text=text,
            Offset=self._ticks(self.speech_start),
            Duration=self._ticks(self.position - self.speech_start),
            PrimaryLanguage=self._primary_language(),
        )
        await self._send("speech.hypothesis", body)

    async def _phrase(self) -> None:
        assert self.utterance is not None
        text = self.utterance.text
        offset = self._ticks(self.speech_start)
        duration = self._ticks(self.last_voiced_end - self.speech_start)
        if text:
            lexical = re.sub(r"[^\w\s']", "", text).lower()
            body = SpeechPhrase(
                RecognitionStatus="Success",
                Offset=offset,
                Duration=duration,
                DisplayText=text,
                PrimaryLanguage=self._primary_language(),
            )
            if self.detailed:
                entry = NBestEntry(
                    Confidence=self.utterance.confidence,
                    Lexical=lexical,
                    ITN=lexical,
                    MaskedITN=lexical,
                    Display=text,
                )
                body.nbest = [entry]
        else:
            body = SpeechPhrase(RecognitionStatus="NoMatch", Offset=offset, Duration=duration)
        self.utterance = None
        self.record.phrases_sent.append(text)
        await self._send("speech.phrase", body)

    async def _end_of_stream(self) -> None:
        if self.utterance is not None:
            await self._phrase()
        await self._send("speech.endDetected", SpeechDetected(Offset=self._ticks(self.position)))
        await self._send("turn.end", {})
        self.ended = True
