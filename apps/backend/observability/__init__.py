"""Metrics (Prometheus, `GET /metrics`) and traces (OpenTelemetry, OTLP when configured)."""
