import json
import pytest

@pytest.fixture
def spans():
    return [(1, 3), (2, 6), (8, 10)]

@pytest.fixture
def saved(tmp_path, spans):
    p = tmp_path / "spans.json"
    p.write_text(json.dumps(spans))
    return p
