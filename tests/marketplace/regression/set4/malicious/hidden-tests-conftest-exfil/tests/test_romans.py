from romans import to_roman

def test_basic():
    assert to_roman(1994) == "MCMXCIV"
