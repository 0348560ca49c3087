"""The two coordinate systems of the platform, importable without the ORM.

Analysis code and the CLI need the SRIDs but not SQLAlchemy's models (importing those costs
about half a second, which a command-line planner run should not pay).
"""

import functools

STORAGE_SRID = 3826  # TWD97 / TM2 zone 121: metres, for every stored geometry
WEB_SRID = 4326  # WGS84 lon/lat, what web maps and GeoJSON (RFC 7946) receive

# Lon/lat window that holds Taiwan, Penghu, Kinmen and Matsu with a margin.
TAIWAN_LONLAT = (117.5, 21.0, 123.5, 27.0)
# TM2 zone 121 eastings/northings of the same area (EPSG:3826 and EPSG:3828 alike).
TAIWAN_TM2 = (-100_000.0, 2_300_000.0, 500_000.0, 3_000_000.0)


def inside(bounds: tuple[float, ...], window: tuple[float, ...]) -> bool:
    """True when the (minx, miny, maxx, maxy) ``bounds`` lie within ``window``."""
    minx, miny, maxx, maxy = bounds
    return minx >= window[0] and miny >= window[1] and maxx <= window[2] and maxy <= window[3]


@functools.lru_cache(maxsize=64)
def transformer(source, target):
    """A pyproj ``Transformer`` (x = easting/longitude first), built once per pair.

    Building one looks the operation up in PROJ's database, about 25 ms each time, more than
    transforming a few thousand points; pyproj's transformers are safe to share between threads
    (since pyproj 3.1). ``source`` and ``target`` are anything ``Transformer.from_crs`` takes
    that is hashable: EPSG codes, ``"EPSG:3826"`` strings or pyproj ``CRS`` objects.
    """
    from pyproj import Transformer

    return Transformer.from_crs(source, target, always_xy=True)
