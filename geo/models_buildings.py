"""ORM model of building footprints (migration 0011; issue #4, item 2).

Cameras do not see through buildings: when footprints are loaded, a camera's view is its
sector less every footprint in it and the shadow each casts away from the camera
(``safemap_camera_view``, migration 0011), and coverage figures use that view
(``geo.coverage``). Without footprints the sector is the view, as before.

``geom`` is a MultiPolygon in EPSG:3826 (metres) with a GiST index, as in ``geo.models``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, _geom, _now


class Building(Base):
    """A building footprint. ``geom``: MultiPolygon, EPSG:3826."""

    __tablename__ = "buildings"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(128))
    height_m: Mapped[float | None] = mapped_column(Float, comment="metres, when the source has it")
    source: Mapped[str | None] = mapped_column(String(128), comment="file or extract it came from")
    geom = _geom("MULTIPOLYGON")
    created_at: Mapped[dt.datetime] = _now()
