"""The chart geometry primitives (core.charts): exact scaling, bands, rounding, ticks."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from programme.core.charts import Bands, Scale, coordinate, exact, nice_step, pixels, rounded, tick_values


def test_a_scale_maps_values_linearly_onto_pixels_exactly():
    scale = Scale(0, 3, 0, 100)
    assert scale.at(1) == Fraction(100, 3)
    assert scale.at(Decimal("1.5")) == 50
    assert scale.at(3) == 100


def test_a_y_scale_runs_downwards():
    y = Scale(0, 10, 232, 12)
    assert y.at(0) == 232
    assert y.at(10) == 12
    assert y.at(5) == 122


def test_a_clipped_scale_draws_values_outside_at_its_ends_and_an_unclipped_one_does_not():
    clipped = Scale(Decimal("-0.5"), Decimal("1.5"), 220, 700, clip=True)
    assert clipped.at(Decimal("-3")) == 220
    assert clipped.at(Decimal("9")) == 700
    assert clipped.at(0) == 340
    assert Scale(0, 1, 0, 100).at(Decimal("1.2")) == 120
    assert Scale(0, 1, 0, 100).at(-1) == -100


def test_an_empty_domain_maps_everything_to_the_start():
    assert Scale(0, 0, 7, 100).at(5) == 7
    assert Scale(0, 0, 7, 100).at(0) == 7


def test_bands_share_the_extent_and_centre_each_bar():
    bands = Bands(44, 668, 4)
    assert bands.slot == 167
    assert bands.at(0) == 44
    assert bands.at(4) == 44 + 668
    assert bands.bar(1, Fraction(1, 2)) == (44 + 167 + Fraction(167, 4), Fraction(167, 2))


def test_a_single_band_fills_the_extent_and_no_band_is_one_slot():
    assert Bands(0, 100, 1).bar(0, Fraction(8, 10)) == (10, 80)
    assert Bands(0, 100, 0).slot == 100


def test_rounding_is_exact_half_to_even_or_half_up():
    assert rounded(Fraction(1, 4)) == Decimal("0.2")
    assert rounded(Fraction(3, 4)) == Decimal("0.8")
    assert rounded(Fraction(1, 4), half_up=True) == Decimal("0.3")
    assert rounded(Fraction(-1, 4), half_up=True) == Decimal("-0.3")
    assert str(rounded(340)) == "340.0"
    assert pixels(Fraction(5, 2)) == 2 and pixels(Fraction(7, 2)) == 4 and pixels(0) == 0


def test_a_coordinate_is_text_to_a_tenth_of_a_pixel():
    assert coordinate(Fraction(668, 3)) == "222.7"
    assert coordinate(120) == "120"
    assert coordinate(120, trim=False) == "120.0"
    assert coordinate(Fraction(-1, 100)) == "0"
    assert coordinate(Fraction(15, 2), 0, half_up=True) == "8"


def test_floats_are_refused():
    with pytest.raises(TypeError):
        exact(0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Scale(0, 1, 0, 100).at(0.5)  # type: ignore[arg-type]


def test_ticks_run_from_low_to_high_inclusive():
    assert tick_values(Fraction(0), Fraction(1), Fraction(1, 4)) == [0, Fraction(1, 4), Fraction(1, 2),
                                                                     Fraction(3, 4), 1]
    assert tick_values(Decimal(-2000), Decimal(4000), Decimal(2000)) == [-2000, 0, 2000, 4000]
    assert tick_values(0, 0, 1) == [0]
    assert tick_values(0, 10, 0) == []


def test_a_nice_step_is_one_two_or_five_times_a_power_of_ten():
    assert nice_step(Decimal(4)) == 1
    assert nice_step(Decimal(7)) == 2
    assert nice_step(Decimal(18000)) == 5000
    assert nice_step(Decimal(1)) == 1
