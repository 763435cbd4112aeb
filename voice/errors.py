"""Errors shared by the voice providers."""

from __future__ import annotations


class ProviderError(Exception):
    """A speech or language provider failed (unreachable, timed out, refused, returned garbage).

    Providers raise this (or let any other exception escape); the fallback chains in `voice.providers`
    catch both, try the next provider, and the cascade apologises if none is left.
    """

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.message = message
