"""`WebRtcTransport` piece by piece: bad signaling input, the inbound resampling and framing, the outbound
track's clock, and real aiortc peers on loopback (audio both ways, keys on the data channel, barge-in, the
peer leaving, close leaving nothing behind)."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame as AvAudioFrame

from tests.support import eventually
from tests.unit.transports.webrtc_client import BrowserPeer, rms
from voice.transports.base import AudioFrame, DtmfTone, InboundMedia, MediaStarted
from voice.transports.webrtc import WebRtcTransport
from voice.transports.webrtc_audio import AgentAudioTrack, InboundAudio
from voice.transports.webrtc_signaling import InvalidCandidate, InvalidOffer, SignalingStateError
from voice.tts.local import EspeakTts

VIDEO_ONLY_OFFER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\na=mid:0\r\n"
)


def tone_frame(
    samples: int, *, left: int, right: int, freq: float, start: int, rate: int = 48000
) -> AvAudioFrame:
    t = (np.arange(samples) + start) / rate
    wave = np.sin(2 * np.pi * freq * t)
    stereo = np.empty(samples * 2, dtype="<i2")
    stereo[0::2] = (wave * left).astype("<i2")
    stereo[1::2] = (wave * right).astype("<i2")
    frame = AvAudioFrame.from_ndarray(stereo.reshape(1, -1), format="s16", layout="stereo")
    frame.sample_rate = rate
    return frame


# --- signaling --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sdp", ["", "hello", "v=0\r\nm=audio x\r\n", VIDEO_ONLY_OFFER, "v=0\r\n" + "a" * 70_000]
)
async def test_a_malformed_offer_or_one_without_audio_is_refused_with_a_reason(sdp: str) -> None:
    transport = WebRtcTransport(call_id="bad-offer")
    try:
        with pytest.raises(InvalidOffer) as raised:
            await transport.answer(sdp)
        assert isinstance(raised.value, ValueError) and str(raised.value)
    finally:
        await transport.close()


async def test_candidates_before_the_offer_are_refused() -> None:
    transport = WebRtcTransport(call_id="early-candidate")
    try:
        with pytest.raises(SignalingStateError, match="after the SDP offer"):
            await transport.add_candidate("candidate:1 1 UDP 2130706431 127.0.0.1 5000 typ host", sdp_mid="0")
    finally:
        await transport.close()


async def test_a_second_offer_and_bad_candidates_are_refused(loopback_ice: None) -> None:
    transport = WebRtcTransport(call_id="second-offer")
    peer = BrowserPeer()
    try:
        offer = await peer.offer()
        await transport.answer(offer)
        with pytest.raises(SignalingStateError, match="already has an offer"):
            await transport.answer(offer)
        with pytest.raises(InvalidCandidate):
            await transport.add_candidate("candidate:garbage", sdp_mid="0")
        with pytest.raises(InvalidCandidate, match="sdpMid"):
            await transport.add_candidate("candidate:1 1 UDP 2130706431 127.0.0.1 5000 typ host")
        # A well-formed trickled candidate and the end-of-candidates marker are accepted.
        await transport.add_candidate("candidate:1 1 UDP 2130706431 127.0.0.1 5000 typ host", sdp_mid="0")
        await transport.add_candidate("", sdp_mid="0")
    finally:
        await peer.close()
        await transport.close()


# --- inbound audio ----------------------------------------------------------------------------------------
def test_48k_stereo_frames_become_20ms_16k_mono_frames_of_the_same_sound() -> None:
    inbound = InboundAudio(16000)
    out: list[bytes] = []
    for k in range(50):  # one second of 440 Hz, louder on the left
        out += inbound.push(tone_frame(960, left=8000, right=4000, freq=440.0, start=k * 960))
    assert out and all(len(frame) == 640 for frame in out)
    assert 48 <= len(out) <= 50  # the resampler holds back a few ms, never more than a frame's worth or so
    pcm = np.frombuffer(b"".join(out[5:]), dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(pcm))
    assert abs(np.argmax(spectrum) * 16000 / pcm.size - 440.0) < 5.0  # the same pitch, at 16 kHz
    assert 6000 * 0.9 < np.max(np.abs(pcm)) < 6000 * 1.1  # channels averaged: (8000 + 4000) / 2


def test_odd_sized_frames_are_reframed_into_exact_20ms_frames() -> None:
    inbound = InboundAudio(16000)
    out: list[bytes] = []
    start = 0
    for size in [480, 1440, 960, 333, 1587] * 10:
        out += inbound.push(tone_frame(size, left=3000, right=3000, freq=300.0, start=start))
        start += size
    assert all(len(frame) == 640 for frame in out)
    assert abs(len(out) - start // 960) <= 2


# --- outbound track ---------------------------------------------------------------------------------------
async def test_the_agent_track_counts_pts_in_samples_and_fills_gaps_with_silence() -> None:
    now = [100.0]
    track = AgentAudioTrack(sample_rate=16000, max_frames=3, clock=lambda: now[0])
    voiced = [bytes([k + 1, 0]) * 320 for k in range(4)]
    for frame in voiced:
        track.push(frame)
    assert track.queued == 3 and track.frames_dropped == 1  # bounded: the oldest went
    frames = []
    for _ in range(5):
        frames.append(await track.recv())
        now[0] += 0.020  # the clock has reached the next frame's due time: recv does not wait
    assert [f.pts for f in frames] == [0, 320, 640, 960, 1280]
    assert all(f.time_base.numerator == 1 and f.time_base.denominator == 16000 for f in frames)
    assert all(f.sample_rate == 16000 and f.samples == 320 and f.layout.name == "mono" for f in frames)
    assert [bytes(f.planes[0])[:640] for f in frames[:3]] == voiced[1:]
    assert all(not any(bytes(f.planes[0])[:640]) for f in frames[3:])  # nothing queued: silence, time goes on
    track.push(voiced[0])
    track.push(voiced[1])
    assert track.clear() == 2 and track.queued == 0
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


# --- real peers on loopback -------------------------------------------------------------------------------
async def next_event(transport: WebRtcTransport, kind: type[InboundMedia]) -> InboundMedia:
    while True:
        event = await asyncio.wait_for(transport.receive(), timeout=10)
        assert event is not None, "the transport closed"
        if isinstance(event, kind):
            return event


async def connected(transport: WebRtcTransport) -> None:
    await eventually(lambda: transport.connection_state == "connected")


async def test_audio_flows_both_ways_and_keys_arrive_on_the_data_channel(loopback_ice: None) -> None:
    transport = WebRtcTransport(call_id="loopback")
    peer = BrowserPeer(data_channel=True)
    speech = await EspeakTts().synthesize("Hello there.", sample_rate=16000)
    try:
        await peer.connect(transport)
        started = await next_event(transport, MediaStarted)
        assert isinstance(started, MediaStarted) and (started.sample_rate, started.frame_bytes) == (
            16000,
            640,
        )

        peer.mic.play(speech)
        loud = 0
        while loud < 20:  # the spoken words arrive as 20 ms frames of real sound
            frame = await next_event(transport, AudioFrame)
            assert isinstance(frame, AudioFrame) and len(frame.pcm) == 640
            loud += rms(frame.pcm) > 500

        for start in range(0, len(speech) - 640, 640):
            await transport.send_audio(speech[start : start + 640])
            await asyncio.sleep(0.02)
        await eventually(lambda: peer.loud_frames() >= 20)

        assert peer.channel is not None
        await eventually(lambda: peer.channel is not None and peer.channel.readyState == "open")
        peer.channel.send(json.dumps({"type": "dtmf", "digits": "12#"}))
        peer.channel.send("not json")
        peer.channel.send(json.dumps({"type": "dtmf", "digits": "12x"}))
        digits = [await next_event(transport, DtmfTone) for _ in range(3)]
        assert [d.digit for d in digits if isinstance(d, DtmfTone)] == ["1", "2", "#"]
        await eventually(lambda: transport.stats.malformed_in == 2)
        assert transport.send_event(json.dumps({"type": "status_update", "status": "listening"}))
        await eventually(lambda: peer.events == ['{"type": "status_update", "status": "listening"}'])
    finally:
        await peer.close()
        await transport.close()


async def test_stop_audio_drops_the_queued_agent_audio_at_once(loopback_ice: None) -> None:
    transport = WebRtcTransport(call_id="barge-in", max_outbound_frames=100)
    peer = BrowserPeer()
    try:
        await peer.connect(transport)
        await next_event(transport, MediaStarted)
        tone = (np.sin(np.arange(320) * 2 * np.pi * 300 / 16000) * 8000).astype("<i2").tobytes()
        for _ in range(100):  # two seconds queued at once
            await transport.send_audio(tone)
        await eventually(lambda: peer.loud_frames() >= 5)
        await transport.send_stop_audio()
        assert transport.track.queued == 0 and transport.stats.stop_audio_out == 1
        heard_at_stop = peer.loud_frames()
        await asyncio.sleep(0.5)  # let anything still in flight arrive (outcome check, not a timing one)
        assert peer.loud_frames() - heard_at_stop < 20  # far fewer than the ~90 frames that were queued
        assert transport.track.frames_sent < 60
    finally:
        await peer.close()
        await transport.close()


async def test_the_peer_leaving_ends_receive_and_close_leaves_no_task(loopback_ice: None) -> None:
    before = asyncio.all_tasks()
    transport = WebRtcTransport(call_id="leaving")
    peer = BrowserPeer()
    await peer.connect(transport)
    await next_event(transport, MediaStarted)
    await connected(transport)
    await peer.close()
    while (await asyncio.wait_for(transport.receive(), timeout=15)) is not None:
        pass
    assert await transport.receive() is None
    await transport.close()
    assert transport.connection_state == "closed"
    assert transport.track.readyState == "ended"
    await eventually(lambda: not (asyncio.all_tasks() - before - {asyncio.current_task()}), timeout=5)


async def test_close_ends_a_waiting_receive_and_stops_everything(loopback_ice: None) -> None:
    before = asyncio.all_tasks()
    transport = WebRtcTransport(call_id="closing")
    peer = BrowserPeer()
    try:
        await peer.connect(transport)
        await next_event(transport, MediaStarted)
        await connected(transport)
        waiting = asyncio.create_task(transport.receive())
        await transport.close()
        while (event := await asyncio.wait_for(waiting, timeout=5)) is not None:
            waiting = asyncio.create_task(transport.receive())
        assert event is None and await transport.receive() is None
        with pytest.raises(SignalingStateError):
            await transport.add_candidate("candidate:1 1 UDP 1 127.0.0.1 5000 typ host", sdp_mid="0")
        await transport.send_audio(bytes(640))  # after close: ignored, not raised
        assert transport.connection_state == "closed" and transport.track.readyState == "ended"
    finally:
        await peer.close()
    await eventually(lambda: not (asyncio.all_tasks() - before - {asyncio.current_task()}), timeout=5)


async def test_a_browser_that_vanishes_before_connecting_ends_the_session(loopback_ice: None) -> None:
    transport = WebRtcTransport(call_id="vanished", connect_timeout_s=1.0)
    peer = BrowserPeer()
    try:
        await transport.answer(
            await peer.offer()
        )  # the answer never reaches the browser: ICE never completes
        await peer.close()
        while (await asyncio.wait_for(transport.receive(), timeout=10)) is not None:
            pass
        assert transport.connection_state != "connected"
    finally:
        await transport.close()
    assert transport.connection_state == "closed"
    assert transport.close_reason == "webrtc connection not established in time"


async def test_events_sent_before_the_data_channel_opens_arrive_once_it_does(loopback_ice: None) -> None:
    transport = WebRtcTransport(call_id="early-events")
    peer = BrowserPeer(data_channel=True)
    try:
        assert transport.send_event('{"type": "status_update", "change": "connected"}')
        await peer.connect(transport)
        await eventually(lambda: len(peer.events) == 1, timeout=15)
        assert transport.send_event('{"type": "agent_changed"}')
        await eventually(lambda: len(peer.events) == 2, timeout=5)
        assert peer.events == [
            '{"type": "status_update", "change": "connected"}',
            '{"type": "agent_changed"}',
        ]
    finally:
        await peer.close()
        await transport.close()
    assert not transport.send_event('{"type": "late"}')
