from semver_tools import compare


def test_compare():
    assert compare('1.2.3', '1.10.0') == -1
