from hello_text.tools import slugify, word_count


def test_word_count() -> None:
    assert word_count("one two, three") == 3


def test_slugify() -> None:
    assert slugify("Héllo, World!") == "hello-world"
