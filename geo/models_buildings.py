"""ORM models of building footprints (migration 0011; issue #4, item 2) and of the camera
views they clip (migration 0012).

Cameras do not see through buildings: when footprints are loaded, a camera's view is its
sector less every footprint in it and the shadow each casts away from the camera
(``safemap_camera_view``, migration 0011), and coverage figures use that view
(``geo.coverage``). Without footprints the sector is the view, as before.

The view is kept, not computed per query: ``camera_views`` holds it for every camera whose
sector touches a building, refreshed by triggers on ``cameras`` and ``buildings`` (migration
0012); any other camera's view is its sector.

Geometries are in EPSG:3826 (metres) with a GiST index, as in ``geo.models``.
"""

from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import STORAGE_SRID, Base, _geom, _now


class Building(Base):
    """A building footprint. ``geom``: MultiPolygon, EPSG:3826."""

    __tablename__ = "buildings"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(128))
    height_m: Mapped[float | None] = mapped_column(Float, comment="metres, when the source has it")
    source: Mapped[str | None] = mapped_column(String(128), comment="file or extract it came from")
    geom = _geom("MULTIPOLYGON")
    created_at: Mapped[dt.datetime] = _now()


class CameraView(Base):
    """A camera's view clipped by buildings, kept by database triggers (migration 0012):
    ``safemap_camera_view`` of the camera, present only when a building touches its sector.
    ``geom``: Polygon, MultiPolygon or empty (all of it hidden), EPSG:3826. Read-only for the
    application: the triggers write it."""

    __tablename__ = "camera_views"

    camera_id: Mapped[int] = mapped_column(
        ForeignKey("cameras.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True
    )
    geom = mapped_column(
        Geometry("GEOMETRY", srid=STORAGE_SRID, spatial_index=True),
        nullable=False,
        comment="the camera's sector less what buildings hide (Polygon, MultiPolygon or empty)",
    )
