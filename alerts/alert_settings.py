"""The `alerts` section of finmon's settings (FINMON_ALERTS__*): rules file, receivers, secret, timings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from monitor.setting_types import HttpUrlList, split_commas


class AlertSettings(BaseModel):
    """Where alerts go and how they are evaluated. No receivers: alerts are still indexed and shown."""

    model_config = ConfigDict(extra="forbid")

    rules_file: Path | None = Field(default=None, description="YAML/TOML rules; empty = the shipped default rules")
    webhook_urls: HttpUrlList = Field(default_factory=list, description="receivers of Alertmanager v4 JSON")
    slack_webhook_urls: HttpUrlList = Field(default_factory=list, description="Slack incoming-webhook URLs")
    alertmanager_urls: HttpUrlList = Field(
        default_factory=list,
        description="Alertmanager base URLs (each of an HA pair): alerts are pushed to their API v2 "
        "(POST <url>/api/v2/alerts) as Prometheus does",
    )
    alertmanager_resend_every: float = Field(
        default=0.0,
        ge=0,
        le=3600,
        description="seconds between re-sends of a firing alert to Alertmanager (0: every evaluation); each "
        "says it ends 4 x max(this, evaluate_every, 60 s) ahead, so it resolves there by itself if finmon stops",
    )
    dashboard_url: str = Field(
        default="http://localhost:8050",
        description="finmon's dashboard, linked from alerts pushed to Alertmanager (generatorURL); unset, the app "
        "uses the page of FINMON_DASHBOARD__HOST/PORT",
    )
    hmac_secret: SecretStr | None = Field(
        default=None, description="signs every webhook (HMAC-SHA256 of timestamp.body)"
    )
    signature_header: str = Field(default="X-Finmon-Signature", min_length=1)
    timestamp_header: str = Field(default="X-Finmon-Timestamp", min_length=1)
    receiver: str = Field(default="finmon", min_length=1, description="the `receiver` field of Alertmanager payloads")
    external_url: str = Field(default="http://localhost:5601", description="Kibana (or any) URL put in payloads")
    kibana_url: str = Field(
        default="", description="Kibana base URL: alerts then carry a Discover link to the episode's negative news"
    )
    time_field: Literal["event_at", "scored_at", "published_at"] = Field(
        default="event_at",
        description="news time that places a news item in a step (event_at: published_at, else fetched_at, "
        "else scored_at)",
    )
    lag: float = Field(
        default=120.0,
        ge=0,
        description="allowed lateness: seconds after a step's end before it is judged (later news is not re-judged)",
    )
    evaluate_every: float = Field(default=30.0, gt=0, le=3600, description="seconds between evaluator runs")
    deliver_every: float = Field(default=5.0, gt=0, le=3600, description="seconds between delivery runs")
    request_timeout: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="total seconds per webhook or Alertmanager request, down to the socket (each redirect hop its own)",
    )
    retry_initial: float = Field(default=1.0, gt=0, description="seconds before the first retry")
    retry_max: float = Field(default=300.0, gt=0, description="seconds between retries, at most")
    give_up_after: float = Field(
        default=86400.0, gt=0, description="seconds after which an undelivered webhook is dropped"
    )
    lease: float = Field(default=120.0, ge=10, description="seconds an evaluator holds the one-evaluator lease")

    _split = field_validator("webhook_urls", "slack_webhook_urls", "alertmanager_urls", mode="before")(split_commas)
