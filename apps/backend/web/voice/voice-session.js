// A browser voice session with Switchboard over WebRTC: create the session, send the microphone, play the
// agent, and report live events (from the data channel and the session's events WebSocket).
//
// Protocol (docs/browser-voice.md): POST /api/v1/sessions {scenario, channel: "webrtc"} -> {token,
// events_token, urls, ice_servers}; POST urls.offer {type, sdp} with "Authorization: Bearer <token>" ->
// {type: "answer", sdp}; POST urls.candidates {candidates: [...]} for candidates found after the offer.

export class VoiceSession {
  constructor({ onEvent = () => {}, onStatus = () => {}, audio = null } = {}) {
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.audio = audio;
    this.pc = null;
    this.events = null;
    this.session = null;
    this.offered = false;
    this.pendingCandidates = [];
    this.channel = null;
    this.stopped = false;
    this.dataChannelMessages = 0;
  }

  async start({ scenario, apiKey = "", language = null }) {
    this.onStatus("creating session");
    const headers = { "content-type": "application/json" };
    if (apiKey) headers["x-api-key"] = apiKey;
    const body = { scenario, channel: "webrtc" };
    if (language) body.language = language;
    const created = await fetch("/api/v1/sessions", { method: "POST", headers, body: JSON.stringify(body) });
    if (!created.ok) throw new Error(`session refused: ${created.status} ${await reason(created)}`);
    this.session = await created.json();
    this.listen();

    this.onStatus("asking for the microphone");
    const mic = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    const pc = new RTCPeerConnection({ iceServers: this.session.ice_servers });
    this.pc = pc;
    for (const track of mic.getAudioTracks()) pc.addTrack(track, mic);
    const channel = pc.createDataChannel("events");
    this.channel = channel;
    channel.onmessage = (message) => {
      this.dataChannelMessages += 1;
      this.onEvent(JSON.parse(message.data), "datachannel");
    };
    pc.ontrack = (event) => {
      if (this.audio) {
        this.audio.srcObject = new MediaStream([event.track]);
        this.audio.play().catch(() => {});
      }
    };
    pc.onicecandidate = (event) => {
      if (event.candidate) this.trickle(event.candidate.toJSON());
    };
    pc.onconnectionstatechange = () => this.onStatus(pc.connectionState);

    await pc.setLocalDescription(await pc.createOffer());
    const answer = await this.post(this.session.urls.offer, pc.localDescription.toJSON());
    if (!answer.ok) throw new Error(`offer refused: ${answer.status} ${await reason(answer)}`);
    await pc.setRemoteDescription(await answer.json());
    this.offered = true;
    const early = this.pendingCandidates.splice(0);
    if (early.length) await this.post(this.session.urls.candidates, { candidates: early });
    this.onStatus("connecting");
    return this.session;
  }

  // The events socket: a snapshot, then transcript chunks (partial and final), status, tools, errors.
  listen() {
    const url = `${this.session.urls.events}?token=${encodeURIComponent(this.session.events_token)}`;
    this.events = new WebSocket(url);
    this.events.onmessage = (message) => this.onEvent(JSON.parse(message.data), "events");
    this.events.onclose = (event) => {
      if (!this.stopped) this.onStatus(`call over: ${event.reason || event.code}`);
    };
  }

  trickle(candidate) {
    if (!this.offered) {
      this.pendingCandidates.push(candidate); // the server takes candidates only after the offer
      return;
    }
    this.post(this.session.urls.candidates, { candidates: [candidate] }).catch(() => {});
  }

  // Keys pressed on the page's keypad reach the agent as DTMF.
  sendDigits(digits) {
    if (this.channel && this.channel.readyState === "open") {
      this.channel.send(JSON.stringify({ type: "dtmf", digits }));
      return true;
    }
    return false;
  }

  post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.session.token}` },
      body: JSON.stringify(body),
    });
  }

  stop() {
    this.stopped = true;
    if (this.pc) this.pc.close();
    if (this.events) this.events.close();
    this.pc = null;
    this.onStatus("hung up");
  }
}

async function reason(response) {
  try {
    const body = await response.json();
    return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch {
    return response.statusText;
  }
}
