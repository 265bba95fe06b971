"""Tests of the deployment files under `deploy/` (Prometheus alerts, the Grafana dashboard)."""
