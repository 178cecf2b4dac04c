"""Settings: placeholder secrets refused outside development; the embedded secret key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from govshare.core.settings import Environment, Settings, SettingsError


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "x" * 10])
def test_production_refuses_missing_placeholder_or_short_secret(secret: str | None) -> None:
    with pytest.raises((SettingsError, ValueError), match="GOVSHARE_SECRET_KEY"):
        Settings(env=Environment.production, secret_key=secret)


def test_production_accepts_a_real_secret_and_forces_secure_cookies() -> None:
    s = Settings(env=Environment.production, secret_key="k" * 48, cookie_secure=False)
    assert s.secure_cookies is True
    assert s.resolved_secret_key() == "k" * 48


def test_development_generates_and_keeps_a_secret(tmp_path: Path) -> None:
    s = Settings(env=Environment.development, data_dir=tmp_path / "data")
    key = s.resolved_secret_key()
    path = tmp_path / "data" / "secret_key"
    assert len(key) >= 48 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Settings(env=Environment.development, data_dir=tmp_path / "data")
    assert again.resolved_secret_key() == key


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOVSHARE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GOVSHARE_SESSION_HOURS", "2.5")
    s = Settings()
    assert s.session_hours == 2.5
    assert s.resolved_database_url == f"sqlite:///{tmp_path.as_posix()}/govshare.db"
    monkeypatch.setenv("GOVSHARE_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings().resolved_database_url == "postgresql+psycopg://u@h/db"
