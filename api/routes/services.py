"""The plan's other services (防竊達人, 消防局 promotion requests, 社會局 protection, crime-
prevention promotion, 「e話」 bulletins, watch teams): one API router and one page router, so
``api.app`` registers them with one line each."""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    services_bulletins,
    services_consultations,
    services_disaster,
    services_promotion,
    services_protection,
    services_watch,
)
from .services_pages import pages

router = APIRouter()
for _module in (
    services_consultations,
    services_disaster,
    services_protection,
    services_promotion,
    services_bulletins,
    services_watch,
):
    router.include_router(_module.router)

__all__ = ["pages", "router"]
