"""The ACS media WebSocket served without ASGI (see `connection.py`), picked per upgrade by `dispatch.py`."""
