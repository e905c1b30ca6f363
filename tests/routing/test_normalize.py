"""Normalised text: the decision cache's key."""

from __future__ import annotations

import pytest

from automatos.routing.normalize import normalize, text_digest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Turn ON   the Dark-Mode!! ", "turn on the dark mode"),
        ("turn on the dark mode", "turn on the dark mode"),
        ("¿Dónde está mi PEDIDO?", "dónde está mi pedido"),
        ("STRASSE / Straße", "strasse strasse"),
        ("\uff28\uff25\uff2c\uff2c\uff2f\uff0c世界\uff01", "hello 世界"),  # full-width
        ("I don't know — it\u2019s broken…", "i dont know its broken"),
        ("नमस्ते, दुनिया", "नमस्ते दुनिया"),
        ("مرحبا بالعالم؟", "مرحبا بالعالم"),
        ("def f(x):\n\treturn x*2", "def f x return x 2"),
        ("version 2.0.1", "version 2 0 1"),
        ("?!...", ""),
    ],
)
def test_case_whitespace_and_punctuation_fold_letters_of_every_script_stay(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_words_that_change_the_meaning_stay_apart() -> None:
    assert normalize("Turn on dark mode.") != normalize("turn off dark mode")
    assert normalize("Turn on dark mode.") == normalize("turn  ON dark mode")
    assert text_digest(normalize("a b")) != text_digest(normalize("ab"))
    assert len(text_digest("x")) == 64


def test_long_texts_fold_like_remembered_short_ones() -> None:
    """Short texts are memoised; past MEMO_CHARS the same rules run every time."""
    from automatos.routing.normalize import MEMO_CHARS

    word = "Don't  STOP-me¡ "
    short = word * (MEMO_CHARS // len(word))
    long = word * (MEMO_CHARS // len(word) * 3)
    assert len(short) <= MEMO_CHARS < len(long)
    assert normalize(long) == " ".join([normalize(word)] * (MEMO_CHARS // len(word) * 3))
    assert normalize(short) == normalize(short) == " ".join([normalize(word)] * (MEMO_CHARS // len(word)))
    assert text_digest(normalize(long)) != text_digest(normalize(short))
