"""The map's colours: layers told apart by people with colour-vision deficiencies, values binned
into classes the legend lists."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from colorspacious import cspace_convert, deltaE
from hypothesis import given
from hypothesis import strategies as st

from dashboard.mapping import LAYER_COLOURS, TINTS, class_of, tint, value_classes

pytestmark = pytest.mark.unit

# Machado et al. (2009) simulations at full severity: the three dichromacies.
VISION = ("normal", "deuteranomaly", "protanomaly", "tritanomaly")
# CAM02-UCS colour difference: about 1 is just noticeable; 10 and more, different at a glance.
MIN_DELTA_E = 10.0


def seen(rgb: tuple[int, int, int], vision: str) -> np.ndarray:
    """Return ``rgb`` as a person with ``vision`` sees it (sRGB, 0-1)."""
    colour = np.asarray(rgb, dtype=float) / 255
    if vision == "normal":
        return colour
    space = {"name": "sRGB1+CVD", "cvd_type": vision, "severity": 100}
    simulated: np.ndarray = np.clip(cspace_convert(colour, space, "sRGB1"), 0, 1)
    return simulated


@pytest.mark.parametrize("dark", [False, True], ids=["light", "low-light"])
@pytest.mark.parametrize("vision", VISION)
def test_every_pair_of_layers_stays_apart_class_for_class(vision: str, dark: bool) -> None:
    worst = []
    for classes, strengths in TINTS.items():
        for t in strengths:
            for (a, ca), (b, cb) in itertools.combinations(LAYER_COLOURS.items(), 2):
                d = deltaE(
                    seen(tint(ca, t, dark=dark), vision),
                    seen(tint(cb, t, dark=dark), vision),
                    input_space="sRGB1",
                )
                worst.append((float(d), a, b, classes, t))
    d, a, b, classes, t = min(worst)
    assert d >= MIN_DELTA_E, f"{a} and {b} at tint {t} ({classes} classes): ΔE {d:.1f}"


@pytest.mark.parametrize("vision", VISION)
def test_a_layers_classes_are_told_apart_from_each_other(vision: str) -> None:
    for colour in LAYER_COLOURS.values():
        for dark in (False, True):
            steps = [seen(tint(colour, t, dark=dark), vision) for t in TINTS[3]]
            for x, y in itertools.pairwise(steps):
                assert deltaE(x, y, input_space="sRGB1") >= MIN_DELTA_E


@given(st.lists(st.integers(min_value=0, max_value=5_000), min_size=1, max_size=300))
def test_every_value_falls_in_one_ordered_class(values: list[int]) -> None:
    classes = value_classes(np.array(values))
    assert 1 <= len(classes) <= 3
    lows = [low for low, _ in classes]
    assert lows == sorted(lows)
    for (_, high), (low, _) in itertools.pairwise(classes):
        assert high < low  # no overlap: a value is in one class only
    assert classes[0][0] == min(values)
    assert classes[-1][1] == max(values)
    index = class_of(np.array(values), classes)
    for value, i in zip(values, index, strict=True):
        low, high = classes[i]
        assert low <= value <= high
