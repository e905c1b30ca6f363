from date_parse import parse


def test_iso():
    assert parse("2024-02-29").startswith("2024-02-29")
