from unitconv import convert


def test_km():
    assert round(convert(1, "km", "mi"), 3) == 0.621
