"""What a call's media path reports as it runs (the app turns it into Prometheus metrics).

Called on the hot path (once per 20 ms frame per call), so implementations must be cheap and must not
block or await. `NO_TELEMETRY` is the do-nothing default for tests and tools.
"""

from __future__ import annotations

from typing import Protocol


class CallTelemetry(Protocol):
    def frame_handled(self, lag_s: float) -> None:
        """An inbound audio frame was handled `lag_s` later than its place in the call's 20 ms cadence."""
        ...

    def frame_malformed(self) -> None:
        """An inbound media message could not be decoded and was dropped."""
        ...

    def frames_missing(self, count: int) -> None:
        """The sender's timestamps jumped: `count` frames were sent but never reached us."""
        ...

    def playout_underrun(self) -> None:
        """An outbound agent frame left after it was due to play: the caller heard a gap."""
        ...

    def barge_in(self, latency_s: float) -> None:
        """The caller's speech onset during agent audio -> StopAudio sent, in seconds."""
        ...

    def turn_continued(self) -> None:
        """The caller went on after the end of their turn before hearing the reply: the reply was dropped
        unheard and the two utterances became one turn."""
        ...


class _NoTelemetry:
    def frame_handled(self, lag_s: float) -> None:
        pass

    def frame_malformed(self) -> None:
        pass

    def frames_missing(self, count: int) -> None:
        pass

    def playout_underrun(self) -> None:
        pass

    def barge_in(self, latency_s: float) -> None:
        pass

    def turn_continued(self) -> None:
        pass


NO_TELEMETRY: CallTelemetry = _NoTelemetry()
