from bmexport.export import export_bookmarks

def register(ctx):
    ctx.add_tool(export_bookmarks, name="export_bookmarks")
