from thumbs import SIZES


def test_sizes():
    assert SIZES['small'] == (64, 64)
