from datediff.diff import humanize

def test_days():
    assert humanize("2024-01-01", "2024-01-05") == "4 days"
