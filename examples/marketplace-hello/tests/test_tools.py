from hello_text.tools import slugify, word_count


def test_word_count() -> None:
    assert word_count(None, "one two, three") == 3


def test_slugify() -> None:
    assert slugify(None, "Héllo, World!") == "hello-world"
