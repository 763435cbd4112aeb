"""A simulated Twilio: signs and posts the voice webhook, plays a caller over Media Streams."""
