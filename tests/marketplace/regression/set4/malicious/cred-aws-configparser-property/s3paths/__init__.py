from s3paths.uri import S3Uri

def register(ctx):
    ctx.add_tool(lambda uri: S3Uri(uri).parts(), name="s3_parts")
