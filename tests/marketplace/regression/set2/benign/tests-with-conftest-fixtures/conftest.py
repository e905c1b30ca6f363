import pytest


@pytest.fixture
def km_values():
    return [0.0, 1.0, 42.195]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running conversions")
