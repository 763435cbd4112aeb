// The softphone's voice over the session's WebSocket (/api/v1/realtime/conversation): microphone -> PCM16
// 16 kHz frames of 20 ms (an AudioWorklet), agent PCM16 frames -> speakers, JSON events both ways.

import { wsUrl } from "./api.js";

const RATE = 16000;

export async function startWebSocketVoice(session, { onEvent, onClose }) {
  const microphone = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  const context = new AudioContext({ sampleRate: RATE });
  await context.audioWorklet.addModule("/console/static/js/pcm-worklet.js");
  const capture = new AudioWorkletNode(context, "pcm-capture", { numberOfOutputs: 1, outputChannelCount: [1] });
  const player = new AudioWorkletNode(context, "pcm-player", { numberOfInputs: 0, outputChannelCount: [1] });
  const mute = context.createGain();
  mute.gain.value = 0; // the capture node must reach the destination to be run; it plays nothing
  context.createMediaStreamSource(microphone).connect(capture).connect(mute).connect(context.destination);
  player.connect(context.destination);
  await context.resume();

  const voice = new URL(session.urls.websocket);
  const socket = new WebSocket(wsUrl(voice.pathname + voice.search, { token: session.token }));
  socket.binaryType = "arraybuffer";
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ type: "start", sample_rate: RATE }));
    capture.port.onmessage = (message) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(message.data);
    };
  });
  socket.addEventListener("message", (message) => {
    if (typeof message.data === "string") {
      const event = JSON.parse(message.data);
      if (event.type === "clear") player.port.postMessage({ clear: true });
      onEvent(event);
    } else {
      player.port.postMessage(message.data, [message.data]);
    }
  });
  let closed = false;
  function release() {
    if (closed) return;
    closed = true;
    capture.port.onmessage = null;
    for (const track of microphone.getTracks()) track.stop();
    context.close();
  }
  socket.addEventListener("close", (close) => {
    release();
    onClose(close.code, close.reason);
  });
  return {
    channel: "websocket",
    sendDtmf(digits) {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "dtmf", digits }));
    },
    hangUp() {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
      else release();
    },
  };
}
