"""When the caller's new speech on a VoiceLive call goes on with their last turn instead of interrupting the
reply to it: the realtime service ended the turn (a semantic end of turn can come after 200 ms of silence),
and the caller carried on before hearing the answer ("I'd like to check my balance. ... For savings.").

The orchestrator then drops the reply, unheard (`response.cancel`, `conversation.item.delete` of its items),
and the server's next input item joins the same caller turn, so the next response answers both utterances
as one request, as the cascade does (`speech_cascade.turn_taking`). It may not be dropped once a tool has
acted on the turn (that is a normal barge-in), nor once the caller could have heard and reacted to it.
"""

from __future__ import annotations

from voice.voicelive.responses import ResponseTurn

MAX_HEARD_MS = 200.0
"""The most of a reply the caller may have heard when they went on (at their speech onset, not when it was
detected) for it to count as unheard: under a speaking reaction time, so they were not answering it."""
COMMIT_AFTER_MS = MAX_HEARD_MS + 600.0
"""After a reply's first audio, how long its caller turn stays open: the heard limit, plus the time the
onset takes to be reported (the service's VAD, the network, our own VAD's barge-in decision)."""


def heard_at(reply: ResponseTurn, onset_at: float) -> float:
    """Milliseconds of `reply` the caller had heard at monotonic `onset_at` (0: none of it yet)."""
    if reply.audible_at is None:
        return 0.0
    return max(0.0, (onset_at - reply.audible_at) * 1000)


def goes_on_with(reply: ResponseTurn | None, onset_at: float) -> bool:
    """Caller speech starting at `onset_at` continues the turn `reply` answers (the reply is to be dropped):
    it answers the caller's spoken turn whose words are not final yet, no tool ran for it, and the caller
    had heard at most `MAX_HEARD_MS` of it."""
    if reply is None or reply.kind != "reply" or reply.dropped or reply.interrupted or reply.recorded:
        return False
    caller = reply.caller
    if caller is None or caller.kind != "speech" or caller.committed:
        return False
    if reply.tools_started or reply.tool_records:
        return False
    return heard_at(reply, onset_at) <= MAX_HEARD_MS
