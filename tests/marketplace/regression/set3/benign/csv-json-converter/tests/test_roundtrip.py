from csv2json import currencies, to_csv, to_json


def test_roundtrip():
    assert to_csv(to_json(currencies())).splitlines()[0] == "code,name,symbol"
