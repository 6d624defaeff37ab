"""Which QuickBooks the app talks to: the emulator only on loopback and only in a debug, test or
demo run (the app refuses to start otherwise); production and sandbox use Intuit's hosts and
ignore QBO_SYNC_EMULATOR_URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis
from qbo_sync.client import QBOClient
from qbo_sync.config import Settings, check_environment, is_loopback, load_settings
from qbo_sync.connection.oauth import discovery_document_url
from qbo_sync.errors import ConfigurationError

NOWHERE: dict[str, str] = {}  # no QBO_SYNC_* from the process environment


class NoTokens:
    def access_token(self) -> str:
        return "unused"

    def refresh_now(self) -> str:
        return "unused"


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://127.8.9.10:8765/", True),
        ("http://localhost:8765", True),
        ("http://LOCALHOST", True),
        ("http://[::1]:8765", True),
        ("http://10.0.0.5:8765", False),
        ("http://localhost.example.com:8765", False),
        ("http://127.0.0.1.nip.io:8765", False),
        ("http://[::ffff:8.8.8.8]:8765", False),
        ("http://emulator:8765", False),
        ("not a url", False),
    ],
)
def test_loopback_hosts(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def _settings(**values: Any) -> Settings:
    return load_settings({f"QBO_SYNC_{k.upper()}": v for k, v in values.items()}, NOWHERE)


def test_the_emulator_needs_debug_testing_or_the_demo_flag() -> None:
    local = _settings(environment="emulator", emulator_url="http://127.0.0.1:8765")
    with pytest.raises(ConfigurationError, match="only for development, tests and the demo"):
        check_environment(local, debug_or_testing=False)
    check_environment(local, debug_or_testing=True)
    demo = _settings(environment="emulator", allow_emulator="1")
    check_environment(demo, debug_or_testing=False)


def test_the_emulator_elsewhere_is_refused_even_in_debug_or_the_demo() -> None:
    far = _settings(environment="emulator", emulator_url="http://10.0.0.5:8765", allow_emulator=1)
    with pytest.raises(ConfigurationError, match="needs an emulator on this machine"):
        check_environment(far, debug_or_testing=True)


@pytest.mark.parametrize(
    ("environment", "api", "discovery"),
    [
        (
            "production",
            "https://quickbooks.api.intuit.com/v3",
            "https://developer.intuit.com/.well-known/openid_configuration/",
        ),
        (
            "sandbox",
            "https://sandbox-quickbooks.api.intuit.com/v3",
            "https://developer.intuit.com/.well-known/openid_sandbox_configuration/",
        ),
    ],
)
def test_production_and_sandbox_ignore_the_emulator_url(
    environment: str, api: str, discovery: str
) -> None:
    settings = _settings(environment=environment, emulator_url="http://203.0.113.9:8765")
    check_environment(settings, debug_or_testing=False)  # nothing to refuse
    assert discovery_document_url(settings) == discovery
    client = QBOClient(settings, "9130", NoTokens(), redis.Redis.from_url("redis://127.0.0.1:9"))
    assert client.qb.api_url == api
    assert client.qb.api_url_v3 == client.qb.sandbox_api_url_v3 == api


def test_the_default_is_intuits_production() -> None:
    settings = load_settings({}, NOWHERE)
    assert settings.environment == "production"
    assert discovery_document_url(settings).startswith("https://developer.intuit.com/")


def _host_config(tmp_path: Path, **qbo_sync: Any) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.db'}",
        "SECRET_KEY": "environment-tests",
        "QBO_SYNC_TOKEN_KEY": "Y3Bu5i1mZ0xW7rxXvI9tq7rQw8t6mAsq1v7tKf0L2bE=",
        **{f"QBO_SYNC_{k.upper()}": v for k, v in qbo_sync.items()},
    }


def test_the_host_app_refuses_to_start_on_the_emulator_in_production(tmp_path: Path) -> None:
    from host_app import create_app

    # an explicit "no" to the demo flag, whatever this process's environment says
    config = _host_config(tmp_path, environment="emulator", allow_emulator="0")
    with pytest.raises(ConfigurationError, match="QBO_SYNC_ENVIRONMENT=emulator is only for"):
        create_app(config)
    elsewhere = _host_config(
        tmp_path, environment="emulator", emulator_url="http://192.0.2.7:8765", allow_emulator="1"
    )
    with pytest.raises(ConfigurationError, match="needs an emulator on this machine"):
        create_app({**elsewhere, "TESTING": True})
    assert create_app({**config, "TESTING": True}).extensions["qbo_sync"].settings.environment == (
        "emulator"
    )
    demo = create_app(_host_config(tmp_path, environment="emulator", allow_emulator="1"))
    assert demo.extensions["qbo_sync"].settings.allow_emulator is True
    production = create_app(_host_config(tmp_path, environment="production", allow_emulator="0"))
    assert production.extensions["qbo_sync"].settings.api_base.startswith("https://quickbooks.")


def test_a_time_scale_is_only_for_the_emulator_and_shrinks_the_budget_windows_by_it() -> None:
    for environment in ("production", "sandbox"):
        with pytest.raises(ConfigurationError, match="TIME_SCALE"):
            load_settings(
                {"QBO_SYNC_ENVIRONMENT": environment, "QBO_SYNC_TIME_SCALE": "4"}, NOWHERE
            )
    with pytest.raises(ConfigurationError, match="positive"):
        load_settings({"QBO_SYNC_ENVIRONMENT": "emulator", "QBO_SYNC_TIME_SCALE": "0"}, NOWHERE)
    settings = load_settings(
        {"QBO_SYNC_ENVIRONMENT": "emulator", "QBO_SYNC_TIME_SCALE": "4"}, NOWHERE
    )
    client = QBOClient(settings, "1", NoTokens(), redis.Redis())  # no call is made
    assert client.budget.minute_window == pytest.approx(15.0 + 0.05 / 4 * 10)
    assert client.budget.second_window == pytest.approx(0.25 + 0.05 / 4)
    assert client.qb.throttle_pause == pytest.approx(15.0)
    assert load_settings({}, NOWHERE).time_scale == 1.0
