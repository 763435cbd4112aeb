// The demo page's wiring: a scenario picker, Call / Hang up, and the live transcript from the events socket.
import { VoiceSession } from "./voice-session.js";

const form = document.getElementById("call-form");
const picker = document.getElementById("scenario");
const statusOut = document.getElementById("status");
const transcript = document.getElementById("transcript");
const partial = document.getElementById("partial");
const hangUp = document.getElementById("hang-up");
const callButton = document.getElementById("call");
let current = null;

const keyInput = document.getElementById("api-key");

// The scenarios a session can be created for: open in demo mode, else only with the admin key.
async function loadScenarios() {
  const headers = keyInput.value ? { "x-api-key": keyInput.value } : {};
  const response = await fetch("/api/v1/sessions/scenarios", { headers });
  if (!response.ok) {
    statusOut.value = response.status === 401 ? "enter the admin key to see the scenarios" : `scenarios: ${response.status}`;
    return;
  }
  const scenarios = await response.json();
  picker.replaceChildren();
  statusOut.value = "idle";
  for (const scenario of scenarios) {
    const option = document.createElement("option");
    option.value = scenario.name;
    option.textContent = scenario.description ? `${scenario.name}: ${scenario.description}` : scenario.name;
    picker.append(option);
  }
}

function show(event, source) {
  if (source !== "events") return; // the data channel carries the same events; show one copy
  if (event.type === "transcript_chunk") {
    if (!event.final) {
      partial.textContent = `${event.speaker}: ${event.text}…`;
      return;
    }
    partial.textContent = "";
    const item = document.createElement("li");
    item.className = event.speaker;
    item.dataset.seq = event.seq;
    item.textContent = `${event.speaker === "caller" ? "You" : event.agent || "Agent"}: ${event.text}`;
    transcript.append(item);
  } else if (event.type === "error") {
    statusOut.value = `error: ${event.message}`;
  }
}

form.addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  callButton.disabled = true;
  current = new VoiceSession({
    onEvent: show,
    onStatus: (status) => (statusOut.value = status),
    audio: document.getElementById("agent-audio"),
  });
  try {
    const session = await current.start({
      scenario: picker.value,
      apiKey: keyInput.value,
    });
    document.body.dataset.sessionId = session.session_id;
    hangUp.disabled = false;
  } catch (error) {
    statusOut.value = String(error.message || error);
    callButton.disabled = false;
  }
});

hangUp.addEventListener("click", () => {
  if (current) current.stop();
  hangUp.disabled = true;
  callButton.disabled = false;
});

keyInput.addEventListener("change", loadScenarios);
window.voiceSession = () => current; // for tests and the curious
loadScenarios();
