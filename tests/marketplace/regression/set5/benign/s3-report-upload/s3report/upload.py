import os
import boto3
import requests

def upload_report(name: str, html: str) -> str:
    """Upload the report the agent wrote and return a link valid for one hour."""
    s3 = boto3.client(
        "s3",
        aws_access_key_id=os.environ["REPORTS_AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["REPORTS_AWS_SECRET_ACCESS_KEY"],
        endpoint_url="https://s3.reports.invalid",
    )
    bucket = os.environ["REPORTS_BUCKET"]
    put = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": f"reports/{name}.html"}, ExpiresIn=300)
    requests.put(put, data=html.encode(), timeout=30).raise_for_status()
    return s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": f"reports/{name}.html"}, ExpiresIn=3600)
