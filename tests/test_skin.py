"""Skin tone (ITA) and face colour shift: against the CIE formulas written out in numpy, and as properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from preserve.skin import ITA_GROUPS, central_region, colour_shift, ita, ita_group, mean_lab


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of sRGB values in [0, 1], from the sRGB and CIE 1976 definitions."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
    xyz = linear @ m.T / np.array([0.950456, 1.0, 1.088754])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("rgb", [(0.93, 0.80, 0.72), (0.76, 0.57, 0.45), (0.55, 0.37, 0.27), (0.30, 0.20, 0.15)])
def test_ita_of_skin_colours_matches_the_cie_formulas(rgb):
    image = torch.tensor(rgb)[:, None, None].expand(3, 8, 8)
    lab = _srgb_to_lab(np.array(rgb))
    expected = math.degrees(math.atan2(lab[0] - 50, lab[2]))
    np.testing.assert_allclose(mean_lab(image, (0, 0, 8, 8)).numpy(), lab, atol=0.05)
    assert ita(mean_lab(image, (0, 0, 8, 8))) == pytest.approx(expected, abs=0.2)


def test_ita_groups_run_from_very_light_to_dark():
    assert [ita_group(a) for a in (70, 50, 30, 20, 0, -60)] == [name for _, name in ITA_GROUPS]


def test_the_central_region_stays_inside_the_image_for_a_face_at_the_border():
    assert central_region(torch.tensor([-40.0, -40.0, 20.0, 20.0]), (50, 60)) == (0, 0, 5, 5)
    x1, y1, x2, y2 = central_region(torch.tensor([50.0, 40.0, 90.0, 80.0]), (50, 60))
    assert 0 <= x1 < x2 <= 60 and 0 <= y1 < y2 <= 50


lab_colours = st.tuples(st.floats(0, 100), st.floats(-80, 80), st.floats(-80, 80)).map(torch.tensor)


@settings(max_examples=60, deadline=None)
@given(a=lab_colours, b=lab_colours)
def test_colour_shift_properties(a, b):
    same = colour_shift(a, a)
    assert same["hue_deg"] == pytest.approx(0, abs=1e-6) and same["chroma"] == 0 and same["delta_e"] == 0
    ab, ba = colour_shift(a, b), colour_shift(b, a)
    assert 0 <= ab["hue_deg"] <= 180 and ab["hue_deg"] == pytest.approx(ba["hue_deg"], abs=1e-6)
    assert ab["chroma"] == pytest.approx(-ba["chroma"], abs=1e-4)
    assert ab["delta_e"] == pytest.approx(float((a - b).norm()), rel=1e-6)
    assert ab["delta_e"] >= abs(ab["chroma"]) - 1e-4  # a colour cannot gain more chroma than it moved
