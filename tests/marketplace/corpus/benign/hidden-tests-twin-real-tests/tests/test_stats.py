from text_stats.plugin import stats


def test_counts(paragraph):
    result = stats(paragraph)
    assert result["sentences"] == 3
    assert result["words"] == 11
