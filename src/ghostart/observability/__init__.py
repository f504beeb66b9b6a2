"""Observability: correlation ids, structured logs, Prometheus metrics, health checks, usage analytics.

Each module stands alone (``ghostart.models`` imports :mod:`.correlation`), so nothing here is
imported eagerly.
"""
