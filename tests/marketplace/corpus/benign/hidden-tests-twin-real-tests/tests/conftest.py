import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long texts")


@pytest.fixture
def paragraph():
    return "The cat sat on the mat. It was happy! Was it?"
