from text_diff import diff


def test_same_text_has_no_diff():
    assert diff("a\n", "a\n") == ""


def test_change_is_reported():
    out = diff("a\n", "b\n")
    assert "-a" in out and "+b" in out
