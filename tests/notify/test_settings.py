"""The paper config's `notifications` section: defaults, per-event choice, and every bad value
refused by field path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine_alpha.config.config_loader import PAPER_FILE, ConfigError, load_config
from engine_alpha.config.models import NOTIFY_EVENTS
from tests.conftest import EditConfig


def test_every_event_is_on_unless_turned_off(config_dir: Path, edit_config: EditConfig) -> None:
    settings = load_config(config_dir).paper.notifications
    assert all(settings.wants(e) for e in NOTIFY_EVENTS)
    edit_config(PAPER_FILE, lambda d: d.update(notifications={"events": {"gate_lost": False}}))
    settings = load_config(config_dir).paper.notifications
    assert [e for e in NOTIFY_EVENTS if not settings.wants(e)] == ["gate_lost"]


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"events": {"position_closd": True}}, "notifications.events.position_closd.[key]: Input"),
        ({"events": {"daily_summary": "yes"}}, "notifications.events.daily_summary: Input should"),
        ({"queue_size": 0}, "notifications.queue_size: Input should be greater than or equal"),
        ({"timeout_s": 0}, "notifications.timeout_s: Input should be greater than 0"),
        ({"retries": 11}, "notifications.retries: Input should be less than or equal to 10"),
        ({"urls": ["tgram://x/y"]}, "notifications.urls: unknown field"),
    ],
)
def test_a_bad_value_is_refused_by_its_path(
    config_dir: Path, edit_config: EditConfig, section: dict[str, Any], problem: str
) -> None:
    edit_config(PAPER_FILE, lambda d: d.update(notifications=section))
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    assert f"{PAPER_FILE}: {problem}" in str(caught.value)
