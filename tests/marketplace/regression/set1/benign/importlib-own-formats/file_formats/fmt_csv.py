import csv
import io


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))
