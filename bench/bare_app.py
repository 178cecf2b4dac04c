"""The reference of ``bench_open311.py``: a bare FastAPI app that answers a constant.

Started exactly like the product (``uvicorn bare_app:create_app --factory --workers 2``), so
the ratio between the two measures what govshare's Open311 endpoint costs on top of FastAPI
and uvicorn themselves: middleware, the policy check, a database session and its queries,
and rendering.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import Response

BODY = b'[{"service_request_id":"2026-000001","status":"open"}]'


def create_app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/")
    def constant() -> Response:
        return Response(BODY, media_type="application/json; charset=utf-8")

    return app
