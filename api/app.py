"""The FastAPI application factory."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from geo.db import make_engine, make_sessionmaker

from . import errors
from .deps import RecentActors
from .limits import BodyLimit
from .routes import (  # yearly workflow
    adoption,
    analysis,
    applications,
    auth,
    boundaries,
    claims,
    communities,
    evaluation,
    extras,
    forms,
    health,
    layers,
    monitoring,
    ogc,
    services,
    transfer,
    web_police,
)
from .routes import maps as map_routes
from .routes import pages as page_routes
from .routes import reports_public as report_routes
from .routes import web as web_routes
from .routes import web_city as web_city_routes
from .routes import web_community as web_community_routes
from .routes import web_triage as triage_routes
from .settings import AppSettings

log = logging.getLogger(__name__)


def create_app(settings: AppSettings | None = None) -> FastAPI:
    """Build the app for ``settings``; the engine is created when the app starts."""
    settings = settings or AppSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "sessionmaker", None) is None:
            engine = make_engine(settings.database)
            app.state.engine = engine
            app.state.sessionmaker = make_sessionmaker(engine)
        yield
        engine = getattr(app.state, "engine", None)
        if engine is not None:
            engine.dispose()

    app = FastAPI(
        title=settings.title,
        description="新北市政府加速推動社區治安營造工作：安全檢測地圖、監視器規劃、區塊認養與年度作業。",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sessionmaker = None
    app.state.recent_actors = RecentActors()
    errors.install(app)
    app.add_middleware(BodyLimit)
    app.include_router(health.router)
    app.include_router(page_routes.router)
    app.include_router(web_routes.router)
    app.include_router(web_police.router)
    app.include_router(report_routes.router)
    app.include_router(triage_routes.router)
    app.include_router(triage_routes.api_router, prefix="/api")
    app.include_router(web_community_routes.router)
    app.include_router(web_city_routes.router)
    app.include_router(auth.router, prefix="/api")
    app.include_router(boundaries.router, prefix="/api")
    app.include_router(communities.router, prefix="/api")
    app.include_router(ogc.router)
    app.include_router(ogc.tiles_router)
    app.include_router(extras.router, prefix="/api")
    app.include_router(transfer.router, prefix="/api")
    app.include_router(analysis.router, prefix="/api")
    app.include_router(adoption.router, prefix="/api")
    app.include_router(services.router, prefix="/api")
    app.include_router(services.pages)
    app.include_router(applications.router, prefix="/api")
    app.include_router(monitoring.router, prefix="/api")
    app.include_router(claims.router, prefix="/api")
    app.include_router(evaluation.router, prefix="/api")
    app.include_router(forms.router, prefix="/api")
    app.include_router(map_routes.router)
    app.include_router(map_routes.static_router)
    for router in layers.routers:
        app.include_router(router, prefix="/api")
    return app
