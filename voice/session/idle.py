"""No dead air when the caller goes quiet, as in the SpeechCascade: after `idle_reprompt_s` with nobody
speaking and nothing pending the agent checks once whether the caller is still there; after `idle_hang_up_s`
it says goodbye and ends the call."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from voice.session.config import CallConfig
from voice.transcript import TurnKind

log = logging.getLogger(__name__)


class IdleWatchdog:
    """Idle time counts from the last moment `busy()` held (polled) or `touch`/`caller_active` was called."""

    def __init__(
        self,
        config: CallConfig,
        *,
        busy: Callable[[], bool],
        say: Callable[[str, TurnKind], Awaitable[bool]],
        give_up: Callable[[], Awaitable[None]],
        poll_s: float = 0.25,
    ) -> None:
        self._config = config
        self._busy = busy
        self._say = say
        self._give_up = give_up
        self._poll_s = poll_s
        self._last_activity = time.monotonic()
        self._reprompted = False

    def touch(self) -> None:
        self._last_activity = time.monotonic()

    def caller_active(self) -> None:
        """The caller spoke or keyed: a later silence earns a fresh reprompt."""
        self._last_activity = time.monotonic()
        self._reprompted = False

    async def run(self) -> None:
        """Until the call is given up on (then returns); cancelled by the owner otherwise."""
        while True:
            await asyncio.sleep(self._poll_s)
            if self._busy():
                self.touch()
                continue
            idle = time.monotonic() - self._last_activity
            if idle >= self._config.idle_hang_up_s:
                log.info("caller silent; ending the call", extra={"idle_s": round(idle, 1)})
                await self._give_up()
                return
            if idle >= self._config.idle_reprompt_s and not self._reprompted:
                self._reprompted = True
                log.info("caller silent; reprompting", extra={"idle_s": round(idle, 1)})
                await self._say(self._config.reprompt, "reprompt")
                self.touch()  # the silence after the reprompt counts from its end
