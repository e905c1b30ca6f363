from sqlfmt_tool import split


def test_split():
    assert split('select 1; select 2;') == ['select 1;', 'select 2;']
