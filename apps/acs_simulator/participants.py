"""More than two parties on a call: people the backend adds (add participant), holds and unholds, and the bot
leaving a call that goes on between the caller and a person (a warm transfer's last step).

`AcsSimulator(humans={"+18005550199": HumanAgent(answer_after_s=1.0)})`: who picks up when the backend adds a
number; a number not listed never picks up (AddParticipantFailed once the invitation times out). What each
added person heard of the agent is kept on their `AddedParticipant` (`heard`, `heard_voiced_ms`), so a test can
check what the human was told while the caller was on hold. A hold with a file play source plays that file to
the held caller in a loop, as ACS does (`hold_audio.py`: fetched from loopback URLs only).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apps.acs_simulator import events as ev
from apps.acs_simulator.hold_audio import HoldAudioError, HoldLoop, fetch_hold_audio
from apps.acs_simulator.media_messages import FRAME_MS
from apps.acs_simulator.rest_models import (
    AddParticipantRequest,
    AddParticipantResponse,
    CallParticipantModel,
    CancelAddParticipantRequest,
    CommunicationIdentifierModel,
    HoldRequest,
    OperationContextResponse,
    RemoveParticipantRequest,
    UnholdRequest,
)

if TYPE_CHECKING:
    from apps.acs_simulator.call import SimulatedCall

DEFAULT_INVITATION_TIMEOUT_S = 60.0
HOLD = "hold"
UNHOLD = "unhold"
PARTICIPANT_INVITED = "participant_invited"
PARTICIPANT_JOINED = "participant_joined"
PARTICIPANT_NOT_ANSWERED = "participant_not_answered"
BOT_LEFT = "bot_left"
HOLD_AUDIO_PLAYING = "hold_audio_playing"
HOLD_AUDIO_NOT_FETCHED = "hold_audio_not_fetched"


@dataclass(frozen=True)
class HumanAgent:
    """A person at a number the backend can add to a call."""

    answer_after_s: float | None = 1.0
    """Rings this long, then picks up; None: never picks up."""


@dataclass
class AddedParticipant:
    identifier: CommunicationIdentifierModel
    invitation_id: str
    operation_context: str | None
    callback_uri: str | None
    state: str = "invited"  # invited -> connected | not_answered | cancelled; connected -> removed
    joined_ms: float | None = None
    heard: bytearray = field(default_factory=bytearray, repr=False)
    """Agent audio this person heard while connected (PCM16 at the call's rate)."""
    heard_voiced_ms: float = 0.0
    heard_voiced_while_caller_held_ms: float = 0.0

    @property
    def number(self) -> str:
        return self.identifier.phone_number.value if self.identifier.phone_number else ""


class CallParticipants:
    """The parties of one call beyond its caller and the bot: who was added, who is on hold."""

    def __init__(self, call: SimulatedCall, humans: dict[str, HumanAgent]) -> None:
        self._call = call
        self._humans = humans
        self.added: list[AddedParticipant] = []
        self.on_hold: set[str] = set()  # raw ids
        self.hold_requests: list[HoldRequest] = []
        self._hold_pcm: bytes | None = None  # the current hold's audio, once fetched
        self.bridged_to: str | None = None
        """The number the caller was left talking to when the bot left the call."""

    # ---- REST hooks --------------------------------------------------------------------------------------

    def request_add(self, request: AddParticipantRequest) -> AddParticipantResponse:
        call = self._call
        target = request.participant_to_add.normalized()
        added = AddedParticipant(
            target, str(uuid.uuid4()), request.operation_context, request.operation_callback_uri
        )
        self.added.append(added)
        call.timeline.mark(PARTICIPANT_INVITED, target=target.resolved_raw_id())
        timeout = float(request.invitation_timeout_in_seconds or DEFAULT_INVITATION_TIMEOUT_S)
        call.spawn_side(self._ring(added, timeout), "acs-sim-add-participant")
        return AddParticipantResponse(
            participant=CallParticipantModel(identifier=target),
            operation_context=request.operation_context,
            invitation_id=added.invitation_id,
        )

    async def _ring(self, added: AddedParticipant, timeout_s: float) -> None:
        human = self._humans.get(added.number)
        answers_after = human.answer_after_s if human is not None else None
        if answers_after is not None and answers_after < timeout_s:
            await asyncio.sleep(answers_after)
            if added.state != "invited" or not self._call.active:
                return
            added.state = "connected"
            added.joined_ms = self._call.timeline.now_ms()
            self._call.timeline.mark(PARTICIPANT_JOINED, target=added.identifier.resolved_raw_id())
            self._post(added, ev.ADD_PARTICIPANT_SUCCEEDED)
            self._participants_updated()
            return
        await asyncio.sleep(timeout_s)
        if added.state != "invited" or not self._call.active:
            return
        added.state = "not_answered"
        self._call.timeline.mark(PARTICIPANT_NOT_ANSWERED, target=added.identifier.resolved_raw_id())
        failure = ev.ResultInformation(code=408, sub_code=10004, message="The participant did not answer.")
        self._post(added, ev.ADD_PARTICIPANT_FAILED, result=failure)

    def request_cancel(self, request: CancelAddParticipantRequest) -> OperationContextResponse:
        added = next((a for a in self.added if a.invitation_id == request.invitation_id), None)
        if added is not None and added.state == "invited":
            added.state = "cancelled"
            self._call.post(
                ev.CANCEL_ADD_PARTICIPANT_SUCCEEDED,
                url=request.operation_callback_uri,
                operation_context=request.operation_context,
                invitation_id=added.invitation_id,
            )
        return OperationContextResponse(
            operation_context=request.operation_context, invitation_id=request.invitation_id
        )

    def request_remove(self, request: RemoveParticipantRequest) -> OperationContextResponse:
        raw_id = request.participant_to_remove.normalized().resolved_raw_id()
        for added in self.added:
            if added.state == "connected" and added.identifier.resolved_raw_id() == raw_id:
                added.state = "removed"
        self._participants_updated()
        return OperationContextResponse(operation_context=request.operation_context)

    def request_hold(self, request: HoldRequest) -> None:
        raw_id = self._require_participant(request.target_participant)
        self.hold_requests.append(request)
        self.on_hold.add(raw_id)
        source = (request.play_source_info or {}).get("kind", "none")
        self._call.timeline.mark(HOLD, target=raw_id, play_source=source)
        self._hold_pcm = None
        self._sync_media()
        self._participants_updated()
        uri = ((request.play_source_info or {}).get("file") or {}).get("uri")
        if source == "file" and isinstance(uri, str) and raw_id == self.person_raw_id:
            self._call.spawn_side(self._fetch_hold_audio(uri), "acs-sim-hold-audio")

    async def _fetch_hold_audio(self, uri: str) -> None:
        """ACS fetches the hold file and plays it to the held caller in a loop."""
        call = self._call
        try:
            pcm = await fetch_hold_audio(uri, call.sample_rate)
        except HoldAudioError as exc:
            call.warnings.append(str(exc))
            return
        if pcm is None:
            call.timeline.mark(HOLD_AUDIO_NOT_FETCHED, uri=uri)
            return
        if self.person_raw_id not in self.on_hold:
            return  # taken off hold while the file was fetched
        self._hold_pcm = pcm
        call.timeline.mark(HOLD_AUDIO_PLAYING, ms=round(len(pcm) / 2 / call.sample_rate * 1000))
        self._sync_media()

    def request_unhold(self, request: UnholdRequest) -> None:
        raw_id = self._require_participant(request.target_participant)
        self.on_hold.discard(raw_id)
        self._call.timeline.mark(UNHOLD, target=raw_id)
        self._sync_media()
        self._participants_updated()

    def bot_leaves(self) -> bool:
        """The bot hangs up (not for everyone): True when the call goes on without it (someone it added is
        connected), which leaves the caller talking to that person."""
        connected = [a for a in self.added if a.state == "connected"]
        if not connected:
            return False
        self.bridged_to = connected[-1].number
        held = self.person_raw_id in self.on_hold
        self._call.timeline.mark(BOT_LEFT, bridged_to=self.bridged_to, caller_on_hold=held)
        if held:
            self._call.warnings.append("the bot left the call with the caller still on hold")
        return True

    # ---- media -------------------------------------------------------------------------------------------

    def hear_agent(self, _t_ms: float, frame: bytes, voiced: bool) -> None:
        """Every agent frame played: each connected participant hears it (a held one would not)."""
        caller_held = self.person_raw_id in self.on_hold
        for added in self.added:
            if added.state != "connected" or added.identifier.resolved_raw_id() in self.on_hold:
                continue
            added.heard += frame
            if voiced:
                added.heard_voiced_ms += FRAME_MS
                if caller_held:
                    added.heard_voiced_while_caller_held_ms += FRAME_MS

    def attach(self) -> None:
        """The call's media is up: route agent frames to the other participants too."""
        self._sync_media()

    def _sync_media(self) -> None:
        media = self._call.media
        if media is not None:
            media.caller_on_hold = self.person_raw_id in self.on_hold
            if not media.caller_on_hold or self._hold_pcm is None:
                media.hold_loop = None
            elif media.hold_loop is None:
                media.hold_loop = HoldLoop(self._hold_pcm, media.playout.frame_len)
            media.on_agent_frame = self.hear_agent

    # ---- helpers -----------------------------------------------------------------------------------------

    @property
    def person_raw_id(self) -> str:
        """The party whose audio the media stream carries: the caller of an inbound call, the callee of an
        outbound one."""
        call = self._call
        return (call.caller if call.direction == "inbound" else call.callee).resolved_raw_id()

    def _require_participant(self, target: CommunicationIdentifierModel) -> str:
        from apps.acs_simulator.call import ApiError

        raw_id = target.normalized().resolved_raw_id()
        known = {p.identifier.resolved_raw_id() for p in self.models()}
        if raw_id not in known:
            raise ApiError(400, "BadRequest", f"Participant {raw_id} is not in the call.")
        return raw_id

    def models(self) -> list[CallParticipantModel]:
        call = self._call
        parties = [call.caller, call.callee] + [a.identifier for a in self.added if a.state == "connected"]
        return [
            CallParticipantModel(identifier=p, is_on_hold=p.resolved_raw_id() in self.on_hold)
            for p in parties
        ]

    def _participants_updated(self) -> None:
        self._call.post(ev.PARTICIPANTS_UPDATED, participants=self.models())

    def _post(self, added: AddedParticipant, event_type: str, **extra: Any) -> None:
        self._call.post(
            event_type,
            url=added.callback_uri,
            operation_context=added.operation_context,
            participant=added.identifier,
            **extra,
        )
