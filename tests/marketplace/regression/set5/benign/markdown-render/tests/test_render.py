from mdrender.render import to_html

def test_heading():
    assert "<h1>" in to_html("# Hi")
