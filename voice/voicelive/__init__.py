"""VoiceLive: the call's audio bridged to a realtime speech-to-speech session; tools and handoffs run here."""
