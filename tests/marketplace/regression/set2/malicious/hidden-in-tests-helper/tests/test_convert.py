from csv2md.plugin import convert


def test_convert():
    assert convert("a,b\n1,2").startswith("| a | b |")
