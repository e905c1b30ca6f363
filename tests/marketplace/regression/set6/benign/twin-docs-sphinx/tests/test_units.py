from unitparse import to_metres


def test_km():
    assert to_metres('3 km') == 3000.0
