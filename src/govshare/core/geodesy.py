"""Distances on the Earth, one definition for every domain.

``haversine_km`` is the great-circle distance on a sphere of the IUGG mean Earth radius. It
takes plain numbers (and answers a ``float``: the front office's duplicate suggestions, a
planning pair) or numpy arrays, which it broadcasts (the consolidation's site x need matrix,
fleet's trips, sites' catchments). Over the distances a region spans the spherical model is
within 0.5 % of the ellipsoid, well inside what any of these uses needs.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), in kilometers."""

Scalar = float | int


@overload
def haversine_km(lon1: Scalar, lat1: Scalar, lon2: Scalar, lat2: Scalar) -> float: ...


@overload
def haversine_km(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
                 ) -> NDArray[np.float64]: ...


def haversine_km(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
                 ) -> float | NDArray[np.float64]:
    """Great-circle distance in km between points given in degrees (longitude first).

    Four plain numbers give a float; anything else is read as numpy arrays and broadcast.
    """
    args = (lon1, lat1, lon2, lat2)
    if all(isinstance(a, (int, float)) for a in args):
        lo1, la1, lo2, la2 = (math.radians(float(a)) for a in args)  # type: ignore[arg-type]
        h = (math.sin((la2 - la1) / 2.0) ** 2
             + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2.0) ** 2)
        return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, h))))
    alo1, ala1, alo2, ala2 = (np.radians(np.asarray(a, dtype=np.float64)) for a in args)
    ah = (np.sin((ala2 - ala1) / 2.0) ** 2
          + np.cos(ala1) * np.cos(ala2) * np.sin((alo2 - alo1) / 2.0) ** 2)
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(ah, 0.0, 1.0))))


__all__ = ["EARTH_RADIUS_KM", "haversine_km"]
