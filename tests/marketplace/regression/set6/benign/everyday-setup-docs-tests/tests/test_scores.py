from readability_kit.scores import flesch_reading_ease, syllables


def test_syllables():
    assert syllables("table") == 1 or syllables("table") == 2


def test_easy_text_scores_high(simple_text):
    assert flesch_reading_ease(simple_text) > 80
