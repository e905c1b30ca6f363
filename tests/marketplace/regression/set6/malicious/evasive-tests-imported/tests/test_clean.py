from csvclean import clean
from tests.fixtures import sample_rows


def test_clean():
    assert clean(" a , b \n") == "a,b\r\n"
    assert sample_rows()
