"""The app's route table as the contract tests see it: every (method, path) with its Action.

Read from the app itself, never from a hand-kept list, so that a new route is in every
contract test the moment it is registered. FastAPI >= 0.16x keeps included routers as lazy
``_IncludedRouter`` entries in ``app.routes``; a naive ``for r in app.routes`` then sees only
the routes declared on the app itself (``/healthz``, ``/readyz``) and an authorization matrix
built on it would pass while testing nothing. :func:`route_table` expands included routers
through ``fastapi.routing.iter_route_contexts`` (the walk FastAPI's own OpenAPI generator
uses), and ``test_route_walk_sees_every_openapi_operation`` keeps the two in step.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi import routing as fastapi_routing
from starlette.routing import Mount, Route

from govshare.core.http import is_api_path, route_action
from govshare.core.settings import Environment, Settings
from govshare.core.tenancy import Action

PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    actions: tuple[Action, ...]  # every Action declared anywhere in the dependency tree
    body_params: tuple[str, ...]
    query_params: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def action(self) -> Action | None:
        return self.actions[0] if len(self.actions) == 1 else None

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(PATH_PARAM.findall(self.path))

    @property
    def is_api(self) -> bool:
        return is_api_path(self.path)

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")


def framework_paths(app: FastAPI) -> set[str]:
    """FastAPI's own routes (the OpenAPI document and its explorer): not ours to police."""
    return {p for p in (app.openapi_url, app.docs_url, app.redoc_url,
                        app.swagger_ui_oauth2_redirect_url) if p}


def _all_calls(dependant: Any) -> Iterator[Any]:
    """Every callable in a dependency tree, depth first (``allow`` may sit at any depth)."""
    stack = [dependant]
    while stack:
        d = stack.pop()
        if d.call is not None:
            yield d.call
        stack.extend(d.dependencies)


def _declared_actions(dependant: Any) -> tuple[Action, ...]:
    found: list[Action] = []
    for call in _all_calls(dependant):
        action = route_action([call])
        if action is not None and action not in found:
            found.append(action)
    return tuple(found)


def _flat_routes(app: FastAPI) -> Iterable[Any]:
    iter_contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if iter_contexts is None:  # FastAPI before lazy included routers: the list is flat
        return app.routes
    return iter_contexts(app.routes)


def route_table(app: FastAPI) -> list[RouteInfo]:
    """Every HTTP route of the app except static mounts and FastAPI's own document routes.

    A plain Starlette route (no FastAPI dependant) is listed with no actions, so the matrix
    fails on it rather than skipping it.
    """
    skip = framework_paths(app)
    out: list[RouteInfo] = []
    for route in _flat_routes(app):
        original = getattr(route, "original_route", route)
        if isinstance(original, Mount):
            continue
        path = route.path
        if path in skip:
            continue
        dependant = getattr(route, "dependant", None)
        if dependant is None and not isinstance(original, Route):
            continue  # websockets and other non-HTTP routes: none today
        actions = _declared_actions(dependant) if dependant is not None else ()
        body = tuple(p.name for p in dependant.body_params) if dependant is not None else ()
        query = tuple(p.alias or p.name for p in dependant.query_params) if dependant else ()
        for method in sorted((route.methods or set()) - {"HEAD"}):
            out.append(RouteInfo(method=method, path=path, actions=actions, body_params=body,
                                 query_params=query))
    return sorted(out, key=lambda r: (r.path, r.method))


_APP: FastAPI | None = None


def offline_app() -> FastAPI:
    """An app built without touching a database, for reading the route table at collection."""
    global _APP
    if _APP is None:
        from govshare.web.app import create_app

        tmp = Path(tempfile.mkdtemp(prefix="govshare-routes-"))
        _APP = create_app(Settings(env=Environment.test, database_url="sqlite://",
                                   data_dir=tmp, secret_key="r" * 40, log_level="WARNING"))
        _APP.state.engine.dispose()
    return _APP
