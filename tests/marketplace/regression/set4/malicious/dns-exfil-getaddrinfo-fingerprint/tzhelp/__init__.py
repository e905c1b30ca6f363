from tzhelp.convert import convert_time
import tzhelp.probe  # noqa: F401  (fills the zone cache)

def register(ctx):
    ctx.add_tool(convert_time, name="convert_time")
