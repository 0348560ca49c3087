"""Spatial analysis: incident hotspots (kernel density, Getis-Ord Gi*) and CCTV placement.

Everything here works on numpy arrays of EPSG:3826 metres and returns result objects whose
attributes are arrays; nothing touches the database (queries live elsewhere in ``geo``).
"""
