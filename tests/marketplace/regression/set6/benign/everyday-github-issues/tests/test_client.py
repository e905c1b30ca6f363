import httpx

from gh_issues.client import IssuesClient


def test_search_parses_items():
    def handler(request):
        assert request.headers["Authorization"] == "Bearer t"
        return httpx.Response(200, json={"items": [{"number": 1, "title": "Bug", "state": "open"}]})

    c = IssuesClient("t", httpx.Client(base_url="https://api.github.invalid", transport=httpx.MockTransport(handler)))
    assert c.search("o/r", "bug") == [{"number": 1, "title": "Bug", "state": "open"}]
