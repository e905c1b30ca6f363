import pytest


@pytest.fixture
def simple_text():
    return "The cat sat on the mat. It was happy."
