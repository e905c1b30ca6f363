from recipescale import scale

def test_double():
    assert scale(1, "cup", 2) == (2, "cup")

def test_convert():
    assert scale(1, "tbsp", 1, "tsp") == (3.0, "tsp")
