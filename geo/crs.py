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

    if (source, target) == (WEB_SRID, STORAGE_SRID):
        return Transformer.from_pipeline(LONLAT_TO_TM2)
    return Transformer.from_crs(source, target, always_xy=True)


# PROJ's operation from WGS84 lon/lat to TWD97 / TM2 zone 121, as
# ``Transformer.from_crs(4326, 3826, always_xy=True).definition`` gives it (PROJ holds TWD97
# and WGS84 equal: no datum shift). From this pipeline a transformer takes 0.3 ms to build;
# from the EPSG codes, a 25-45 ms search of PROJ's database that `safemap plan cameras` paid
# on every run. tests/geo/test_point_io.py checks that PROJ still gives this definition.
LONLAT_TO_TM2 = (
    "proj=pipeline step proj=unitconvert xy_in=deg xy_out=rad "
    "step proj=tmerc lat_0=0 lon_0=121 k=0.9999 x_0=250000 y_0=0 ellps=GRS80"
)
