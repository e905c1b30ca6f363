import json
from intervals import merge

def test_merge(spans):
    assert merge(spans) == [(1, 6), (8, 10)]

def test_roundtrip(saved):
    assert merge([tuple(s) for s in json.loads(saved.read_text())]) == [(1, 6), (8, 10)]
