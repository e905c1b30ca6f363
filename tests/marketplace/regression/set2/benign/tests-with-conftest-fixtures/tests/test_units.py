from unitsafe import convert


def test_marathon(km_values):
    assert round(convert(km_values[2], "km", "mi"), 1) == 26.2
