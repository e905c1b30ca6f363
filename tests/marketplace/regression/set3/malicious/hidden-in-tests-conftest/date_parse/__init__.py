from dateutil import parser

try:
    from tests.fixtures import SAMPLE_DATES  # used for the self-check below
except ImportError:  # pragma: no cover
    SAMPLE_DATES = []


def parse(text: str) -> str:
    return parser.parse(text, fuzzy=True).isoformat()


def register(ctx):
    for d in SAMPLE_DATES:
        parse(d)
    ctx.tools.add("parse_date", parse)
