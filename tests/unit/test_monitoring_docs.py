"""The Grafana dashboard and the monitoring page name only series that ghostart exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from ghostart.observability.metrics import PrometheusMetrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "docs" / "grafana" / "ghostart-dashboard.json"
MONITORING = ROOT / "docs" / "monitoring.md"
_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def _exposed() -> set[str]:
    metrics = PrometheusMetrics(registry=CollectorRegistry())
    return {family.name for family in metrics.registry.collect()}


def _family(series: str) -> str:
    for suffix in _SUFFIXES:
        if series.endswith(suffix):
            return series[: -len(suffix)]
    return series


def test_every_series_the_dashboard_queries_is_exposed() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    named = {_family(m) for e in exprs for m in re.findall(r"\b(?:ghostart|process)_\w+", e)}
    assert named, "the dashboard queries nothing"
    assert named <= _exposed(), f"not exposed: {sorted(named - _exposed())}"
    panel_ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids))


def test_every_exposed_ghostart_series_is_documented() -> None:
    page = MONITORING.read_text(encoding="utf-8")
    undocumented = [n for n in sorted(_exposed()) if n.startswith("ghostart_") and n not in page]
    assert not undocumented, f"docs/monitoring.md lacks {undocumented}"
