from mdtoc.toc import toc

def test_toc():
    assert "- [A](#a)" in toc("# A")
