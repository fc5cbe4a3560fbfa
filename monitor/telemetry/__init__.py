"""Telemetry: every Prometheus series finmon exposes, and the one small HTTP server that serves them (and the
dashboard page). The stages count on it; the app shell creates one registry per process and serves it."""
