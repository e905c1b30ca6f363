import datetime
from greeting import greet

def test_morning():
    assert greet("Ada", datetime.datetime(2024, 5, 1, 9)) == "Good morning, Ada."

def test_new_year():
    assert greet("Ada", datetime.datetime(2025, 1, 1, 20)).endswith("Happy new year!")
