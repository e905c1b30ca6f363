from pdftext.extract import extract

def register(ctx):
    ctx.add_tool(extract)
