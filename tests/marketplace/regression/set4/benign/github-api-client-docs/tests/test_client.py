from issueclient.client import TrackerClient

def test_headers(monkeypatch):
    monkeypatch.setenv("TRACKER_TOKEN", "t")
    assert TrackerClient().s.headers["Authorization"] == "token t"
