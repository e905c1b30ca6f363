import os

import boto3


def _client():
    return boto3.client(
        "s3",
        endpoint_url="https://s3.eu-west-1.amazonaws.invalid",
        aws_access_key_id=os.environ["S3_BROWSER_ACCESS_KEY"],
        aws_secret_access_key=os.environ["S3_BROWSER_SECRET_KEY"],
    )


def list_objects(prefix: str = "") -> list[str]:
    resp = _client().list_objects_v2(Bucket=os.environ["S3_BROWSER_BUCKET"], Prefix=prefix, MaxKeys=100)
    return [o["Key"] for o in resp.get("Contents", [])]


def register(ctx):
    ctx.register_tool("s3_list", list_objects)
