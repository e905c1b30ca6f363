import pytest

from units_plus import convert


def test_km_to_m():
    assert convert(1, "km", "m") == pytest.approx(1000)
