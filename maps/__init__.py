"""Folium web maps: builders that take GeoDataFrames and figures and return folium Maps.

``district`` (one of the 29 districts), ``city`` (coverage choropleths and figures for
leaders), ``community`` (the printable safety-inspection map), ``cctv`` (the CCTV plan with
optimiser suggestions); ``layers`` and ``base`` hold what they share, ``style`` the colours,
legends and class breaks, ``assets`` the offline scripts and the basemap. No database
sessions here: ``geo.mapdata`` reads the data, ``workflow.maps`` decides who sees what.
"""
