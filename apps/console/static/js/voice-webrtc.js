// The softphone's voice over WebRTC: the microphone as an audio track, the agent's audio played from the
// remote track, and the session's live events on the "events" data channel (which also carries keys).
// Signaling is two POSTs with the session's media token: the offer (answered with the server's SDP) and our
// ICE candidates, sent as they are found.

const CLOSED_STATES = new Set(["failed", "closed", "disconnected"]);

function samePath(url) {
  const parsed = new URL(url, window.location.href);
  return parsed.pathname + parsed.search; // same origin as the console, whatever PUBLIC_BASE_URL says
}

async function post(url, token, body) {
  const response = await fetch(samePath(url), {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      // not JSON: keep the status
    }
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return response.status === 204 ? null : response.json();
}

export async function startWebRtcVoice(session, { onEvent, onClose, audioElement }) {
  const microphone = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  const pc = new RTCPeerConnection({ iceServers: session.ice_servers || [] });
  for (const track of microphone.getAudioTracks()) pc.addTrack(track, microphone);
  const events = pc.createDataChannel("events");
  events.addEventListener("message", (message) => onEvent(JSON.parse(message.data)));
  pc.addEventListener("track", (event) => {
    audioElement.srcObject = event.streams[0] || new MediaStream([event.track]);
    audioElement.play().catch(() => {}); // autoplay may wait for a gesture; the Call click was one
  });

  let answered = false;
  let pending = [];
  async function sendCandidates(candidates) {
    if (!candidates.length) return;
    try {
      await post(session.urls.candidates, session.token, { candidates });
    } catch (error) {
      onEvent({ type: "error", source: "signaling", message: `candidates not sent: ${error.message}` });
    }
  }
  pc.addEventListener("icecandidate", (event) => {
    if (!event.candidate || !event.candidate.candidate) return;
    const candidate = event.candidate.toJSON();
    if (answered) sendCandidates([candidate]);
    else pending.push(candidate);
  });

  let closed = false;
  function finish(code, reason) {
    if (closed) return;
    closed = true;
    for (const track of microphone.getTracks()) track.stop();
    pc.close();
    onClose(code, reason);
  }
  pc.addEventListener("connectionstatechange", () => {
    if (CLOSED_STATES.has(pc.connectionState)) finish(1000, `connection ${pc.connectionState}`);
  });
  events.addEventListener("close", () => finish(1000, "session over"));

  try {
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await post(session.urls.offer, session.token, { sdp: pc.localDescription.sdp, type: "offer" });
    await pc.setRemoteDescription(answer);
    answered = true;
    const early = pending;
    pending = [];
    await sendCandidates(early);
  } catch (error) {
    closed = true;
    for (const track of microphone.getTracks()) track.stop();
    pc.close();
    throw error;
  }
  return {
    channel: "webrtc",
    sendDtmf(digits) {
      if (events.readyState === "open") events.send(JSON.stringify({ type: "dtmf", digits }));
    },
    hangUp() {
      finish(1000, "hung up");
    },
  };
}
