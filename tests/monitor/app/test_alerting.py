"""The alert service's settings as the app shell composes them: the dashboard link of Alertmanager alerts."""

from __future__ import annotations

import pytest

from alerts.alert_settings import AlertSettings
from monitor.app.alerting import with_dashboard_url
from monitor.app.settings import Settings
from monitor.stage_settings import DashboardSettings


@pytest.mark.usefixtures("no_finmon_env")
def test_generator_urls_point_at_this_installations_dashboard_unless_set() -> None:
    def url(**page: object) -> str:
        return with_dashboard_url(Settings(dashboard=DashboardSettings(**page))).dashboard_url  # type: ignore[arg-type]

    assert url() == "http://localhost:8050"
    assert url(port=9000) == "http://localhost:9000" and url(host="0.0.0.0", port=9000) == "http://localhost:9000"
    assert url(host="::1", port=9000) == "http://[::1]:9000" and url(host="desk.lan", port=80) == "http://desk.lan:80"
    assert url(port=0) == "http://localhost:8050"  # a free port, not known yet: the default stays
    chosen = Settings(alerts=AlertSettings(dashboard_url="https://desk.example/finmon"))
    assert with_dashboard_url(chosen).dashboard_url == "https://desk.example/finmon"
