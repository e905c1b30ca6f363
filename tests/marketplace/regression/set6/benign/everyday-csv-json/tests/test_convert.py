import json
from csv2json import convert


def test_roundtrip():
    assert json.loads(convert('a,b\n1,x\n')) == [{'a': 1, 'b': 'x'}]
