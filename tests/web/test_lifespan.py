"""What the app does once it has started, per environment."""

from __future__ import annotations

import gc

import pytest
from fastapi.testclient import TestClient

from govshare.core.settings import Environment, Settings
from govshare.web.app import create_app


@pytest.mark.parametrize("env", [Environment.production, Environment.test])
def test_production_freezes_startup_objects_out_of_the_collector(
        settings: Settings, env: Environment) -> None:
    """A full collection used to walk ~160,000 startup objects (~80 ms of silence under
    load); production freezes them once the app is up. Tests keep the collector as is."""
    gc.unfreeze()
    chosen = settings.model_copy(update={"env": env, "secret_key": "p" * 48})
    app = create_app(chosen)
    try:
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            frozen = gc.get_freeze_count()
        if env is Environment.production:
            assert frozen > 50_000
        else:
            assert frozen == 0
    finally:
        gc.unfreeze()
        app.state.engine.dispose()


def test_database_pool_size_setting_reaches_the_engine(settings: Settings, backend: str) -> None:
    app = create_app(settings.model_copy(update={"database_pool_size": 3}))
    try:
        status = app.state.engine.pool.status()
        if backend == "postgresql":
            assert "Pool size: 3" in status and app.state.engine.pool.size() == 3
        else:  # SQLite: one local file, SQLAlchemy's own pool for it; the setting is not used
            assert "Pool size: 3" not in status
    finally:
        app.state.engine.dispose()
