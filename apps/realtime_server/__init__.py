"""Switchboard's local realtime server: the OpenAI realtime protocol (beta / Azure VoiceLive and GA
dialects) on the embedded speech stack. See `app.py` for the routes and `session.py` for the behaviour."""
