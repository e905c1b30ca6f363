from roman import to_roman


def test_1994():
    assert to_roman(1994) == "MCMXCIV"
