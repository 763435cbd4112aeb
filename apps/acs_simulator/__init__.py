"""A local stand-in for Azure Communication Services: Call Automation REST, Event Grid events,
signed callbacks and the media WebSocket, speaking the same wire protocol as the real service."""
