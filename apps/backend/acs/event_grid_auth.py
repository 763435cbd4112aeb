"""Who may ring the service: authentication of Event Grid deliveries to the IncomingCall webhook.

Two mechanisms, as Event Grid offers them: a shared secret in the subscription URL (`?code=<secret>`, compared in
constant time; a previous secret is accepted too while the URL is rotated), and Entra ID-protected delivery
(`Authorization: Bearer <JWT>`, see entra_jwt). `both` requires both. Fail closed: with real ACS and nothing
configured the service refuses to start, unless EVENT_GRID_AUTH=insecure-off says so in as many words.
"""

from __future__ import annotations

import hmac
import logging

import httpx

from apps import loopback_acs
from apps.backend.acs.entra_jwt import EntraAuthError, EntraTokenVerifier, tenant_jwks_url
from apps.backend.acs.signing_keys import SigningKeys
from apps.backend.setting_values import EventGridAuthMode
from apps.backend.settings import Settings

log = logging.getLogger(__name__)

SECRET_PARAM = loopback_acs.EVENT_GRID_SECRET_PARAM
MIN_SECRET_LENGTH = 16


class EventGridAuthError(Exception):
    """The delivery is not from our Event Grid subscription; the message says why (no secrets in it)."""


class EventGridAuthConfigError(ValueError):
    """The settings cannot authenticate Event Grid: the service must not start."""


class EventGridAuthenticator:
    def __init__(
        self,
        mode: EventGridAuthMode,
        *,
        secrets: tuple[bytes, ...] = (),
        entra: EntraTokenVerifier | None = None,
    ) -> None:
        needs_secret = mode in (EventGridAuthMode.SECRET, EventGridAuthMode.BOTH)
        needs_entra = mode in (EventGridAuthMode.ENTRA, EventGridAuthMode.BOTH)
        if mode is EventGridAuthMode.AUTO:
            raise ValueError("resolve auto before building the authenticator")
        if needs_secret != bool(secrets) or needs_entra != (entra is not None):
            raise ValueError(f"mode {mode.value} does not match the credentials given")
        self.mode = mode
        self._secrets = secrets
        self._entra = entra

    @property
    def uses_entra(self) -> bool:
        return self._entra is not None

    async def authenticate(self, query_secret: str | None, authorization: str | None) -> None:
        """Raise EventGridAuthError unless the delivery carries what the mode requires."""
        if self._secrets:
            self._check_secret(query_secret)
        if self._entra is not None:
            try:
                await self._entra.verify_authorization_header(authorization)
            except EntraAuthError as exc:
                raise EventGridAuthError(f"Entra bearer token rejected: {exc}") from exc

    def _check_secret(self, given: str | None) -> None:
        if not given:
            raise EventGridAuthError(f"missing ?{SECRET_PARAM}= secret in the webhook URL")
        candidate = given.encode()
        # Compare against every accepted secret (no early exit), each in constant time.
        matches = [hmac.compare_digest(candidate, secret) for secret in self._secrets]
        if not any(matches):
            raise EventGridAuthError(f"wrong ?{SECRET_PARAM}= secret")


def build_event_grid_auth(settings: Settings, http: httpx.AsyncClient) -> EventGridAuthenticator:
    """The authenticator the settings ask for, or EventGridAuthConfigError saying what to set."""
    secrets = _configured_secrets(settings)
    entra_configured = bool(settings.event_grid_entra_tenant_id or settings.event_grid_entra_audience)
    mode = settings.event_grid_auth
    if mode is EventGridAuthMode.AUTO:
        if secrets and entra_configured:
            mode = EventGridAuthMode.BOTH
        elif entra_configured:
            mode = EventGridAuthMode.ENTRA
        elif secrets or settings.uses_acs_simulator:
            mode = EventGridAuthMode.SECRET
        else:
            raise EventGridAuthConfigError(
                "ACS_CONNECTION_STRING is set but Event Grid deliveries would be unauthenticated: set "
                f"EVENT_GRID_SECRET (and end the subscription URL with ?{SECRET_PARAM}=<secret>), or "
                "EVENT_GRID_ENTRA_TENANT_ID + EVENT_GRID_ENTRA_AUDIENCE for Entra-protected delivery; "
                "EVENT_GRID_AUTH=insecure-off lets anyone ring the service (never in production)"
            )
    if mode is EventGridAuthMode.INSECURE_OFF:
        log.warning("EVENT_GRID_AUTH=insecure-off: anyone who can reach the webhook can ring the service")
        return EventGridAuthenticator(mode)
    use_secret = mode in (EventGridAuthMode.SECRET, EventGridAuthMode.BOTH)
    use_entra = mode in (EventGridAuthMode.ENTRA, EventGridAuthMode.BOTH)
    if use_secret and not secrets:
        if not settings.uses_acs_simulator:
            raise EventGridAuthConfigError(f"EVENT_GRID_AUTH={mode.value} needs EVENT_GRID_SECRET")
        secrets = (loopback_acs.SIMULATOR_EVENT_GRID_SECRET.encode(),)
    entra = _entra_verifier(settings, http, mode) if use_entra else None
    log.info("event grid deliveries authenticated", extra={"event_grid_auth": mode.value})
    return EventGridAuthenticator(mode, secrets=secrets if use_secret else (), entra=entra)


def _configured_secrets(settings: Settings) -> tuple[bytes, ...]:
    secrets: list[bytes] = []
    for name, value in (
        ("EVENT_GRID_SECRET", settings.event_grid_secret),
        ("EVENT_GRID_SECRET_PREVIOUS", settings.event_grid_secret_previous),
    ):
        if value is None:
            continue
        raw = value.get_secret_value()
        if len(raw) < MIN_SECRET_LENGTH:
            raise EventGridAuthConfigError(f"{name} must be at least {MIN_SECRET_LENGTH} characters")
        secrets.append(raw.encode())
    if settings.event_grid_secret_previous is not None and settings.event_grid_secret is None:
        raise EventGridAuthConfigError("EVENT_GRID_SECRET_PREVIOUS is set but EVENT_GRID_SECRET is not")
    return tuple(secrets)


def _entra_verifier(
    settings: Settings, http: httpx.AsyncClient, mode: EventGridAuthMode
) -> EntraTokenVerifier:
    tenant = settings.event_grid_entra_tenant_id
    audiences = [a.strip() for a in (settings.event_grid_entra_audience or "").split(",") if a.strip()]
    if not tenant or not audiences:
        raise EventGridAuthConfigError(
            f"EVENT_GRID_AUTH={mode.value} needs both EVENT_GRID_ENTRA_TENANT_ID and EVENT_GRID_ENTRA_AUDIENCE"
        )
    keys = SigningKeys(settings.event_grid_entra_jwks_url or tenant_jwks_url(tenant), http)
    return EntraTokenVerifier(
        tenant_id=tenant,
        audiences=audiences,
        keys=keys,
        client_app_id=settings.event_grid_entra_client_app_id or None,
    )
