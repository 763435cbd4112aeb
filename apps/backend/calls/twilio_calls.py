"""A Twilio call on the call core: the incoming-call webhook creates the call record and the TwiML that
connects its audio to our media WebSocket; the media socket then runs it like any other channel.

Twilio retries a webhook that timed out: a CallSid is taken once (Redis SET NX) and a retry is answered for
the same call. Hang-up needs no Twilio REST call: closing the media WebSocket ends `<Connect><Stream>`, and
with no TwiML after it Twilio hangs up.
"""

from __future__ import annotations

import logging
import uuid

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field

from apps.backend.acs.media_token import MediaTokenSigner
from apps.backend.calls.service import CallService
from apps.backend.logging_setup import bound_call_id
from apps.backend.settings import Settings
from apps.backend.storage.call_store import CallCarrier, CallDirection, CallRecord, CallStatus
from apps.backend.twilio.twiml import connect_stream

log = logging.getLogger(__name__)

TWILIO_VOICE_PATH = "/api/v1/twilio/voice"
TWILIO_MEDIA_PATH = "/api/v1/twilio/media"
CALL_SID_TTL_SECONDS = 600
TOKEN_PARAMETER = "token"


class TwilioVoiceWebhook(BaseModel):
    """The fields we use of Twilio's incoming-call webhook (form-encoded; Twilio sends many more)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    call_sid: str = Field(alias="CallSid", min_length=2, max_length=64, pattern=r"^[A-Za-z0-9]+$")
    account_sid: str = Field("", alias="AccountSid", max_length=64)
    from_: str = Field("", alias="From", max_length=64)
    to: str = Field("", alias="To", max_length=64)
    direction: str = Field("inbound", alias="Direction", max_length=32)


class TwilioCalls:
    def __init__(
        self, *, settings: Settings, calls: CallService, redis: aioredis.Redis, tokens: MediaTokenSigner
    ) -> None:
        self._settings = settings
        self._calls = calls
        self._redis = redis
        self._tokens = tokens

    def stream_url(self) -> str:
        return self._settings.websocket_base_url + TWILIO_MEDIA_PATH

    def twiml_for(self, call_id: str) -> str:
        return connect_stream(self.stream_url(), {TOKEN_PARAMETER: self._tokens.issue(call_id)})

    async def accept(self, hook: TwilioVoiceWebhook) -> str:
        """Create (or, for a retried webhook, find) the call for `hook`; returns our call id."""
        call_id = uuid.uuid4().hex
        sid_key = f"sb:twilio-call:{hook.call_sid}"
        if not await self._redis.set(sid_key, call_id, nx=True, ex=CALL_SID_TTL_SECONDS):
            existing = await self._redis.get(sid_key)
            if existing is not None:
                log.info("retried twilio webhook answered for the same call")
                return existing.decode() if isinstance(existing, bytes) else str(existing)
        snapshot = self._calls.registry.pin(call_id)
        scenario = self._calls.scenario_for(snapshot, hook.to)
        with bound_call_id(call_id):
            record = CallRecord(
                call_id=call_id,
                direction=CallDirection.INBOUND,
                registry_version=snapshot.version,
                caller=hook.from_,
                callee=hook.to,
                scenario=scenario.name,
                status=CallStatus.ANSWERING,
                carrier=CallCarrier.TWILIO,
                carrier_call_id=hook.call_sid,
            )
            record.add_event("incoming_call", "twilio")
            await self._calls.store.create(record)
            await self._calls.store.link_connection(call_id, hook.call_sid)  # look it up by CallSid too
            log.info("answering twilio call", extra={"scenario": record.scenario})
        return call_id
