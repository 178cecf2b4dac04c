"""One great-circle distance for every domain (core.geodesy, issue 8 §3: two copies merged)."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from govshare.core.geodesy import EARTH_RADIUS_KM, haversine_km
from tests.conftest import ROOT

SEATTLE, PORTLAND = (-122.3321, 47.6062), (-122.6765, 45.5231)


def test_known_distances_for_plain_numbers() -> None:
    km = haversine_km(*SEATTLE, *PORTLAND)
    assert isinstance(km, float)
    assert km == pytest.approx(233.5, abs=1.0)
    assert haversine_km(0, 0, 180, 0) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert haversine_km(*SEATTLE, *SEATTLE) == 0.0
    # 0.0013 degrees of latitude downtown is ~145 m (the front office's duplicate radius).
    assert 0.140 < haversine_km(-122.3351, 47.6080, -122.3351, 47.6093) < 0.150
    # Antipodes: rounding must not push the sine's argument past 1.
    assert haversine_km(0.0, 0.0, 180.0, -0.0) == pytest.approx(math.pi * EARTH_RADIUS_KM)


def test_arrays_broadcast_and_agree_with_plain_numbers() -> None:
    d = haversine_km(np.zeros((3, 1)), np.zeros((3, 1)), np.ones(4), np.zeros(4))
    assert d.shape == (3, 4)
    assert d == pytest.approx(np.full((3, 4), 111.195), abs=1e-3)
    lons, lats = np.array([SEATTLE[0], PORTLAND[0]]), np.array([SEATTLE[1], PORTLAND[1]])
    m = haversine_km(lons[:, None], lats[:, None], lons[None, :], lats[None, :])
    assert m[0, 1] == pytest.approx(haversine_km(*SEATTLE, *PORTLAND), rel=1e-12)


def test_no_other_module_defines_its_own_great_circle_distance() -> None:
    copies = []
    for path in sorted((ROOT / "src" / "govshare").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and ("haversine" in node.name
                                                      or "great_circle" in node.name):
                copies.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
            if isinstance(node, ast.Constant) and node.value in (6371.0088, 6_371_008.8, 6371.0):
                copies.append(f"{path.relative_to(ROOT)}:{node.lineno} Earth radius")
    assert all(c.startswith(str(Path("src/govshare/core/geodesy.py"))) for c in copies), copies
