from s3report.upload import upload_report

def register(ctx):
    ctx.add_tool(upload_report)
