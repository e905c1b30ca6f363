from csv_profiler.plugin import profile


def test_nulls(sample_csv):
    assert profile(sample_csv)["b"]["nulls"] == 1
