"""Print a presigned URL for an S3 object: anyone holding it may GET (or, with --put, PUT) that
object until it expires, without credentials of their own.

The URL is signed by the firmware's own sigv4.presign (the code a board signs with), with the
operator's AWS credentials taken as the AWS CLI takes them (environment, --profile, SSO, instance
roles); a session token is signed into the URL. Nothing is sent to AWS, so no --ca is needed:
virtual-hosted on AWS, path-style at an --endpoint-url.
"""

import time
from urllib.parse import urlsplit

import iotsv_sigv4 as sigv4
import iotsv_utc as utc

from . import hostclient
from .hostclient import ToolError

EXAMPLE = "iotsig presign s3://firmware/releases/app-1.2.bin --expires 600 --region eu-west-1"


def parse_s3_url(text):
    """(bucket, key) of s3://bucket/key; ToolError (usage) otherwise."""
    if not text.startswith("s3://"):
        raise ToolError("%s: not an s3://bucket/key URL" % text, usage=True)
    bucket, _, key = text[5:].partition("/")
    if not bucket or not key:
        raise ToolError("%s: not an s3://bucket/key URL (bucket and key both needed)" % text, usage=True)
    return bucket, key


def presigned_url(bucket, key, method, expires_s, credentials, region, endpoint=None, now=None):
    """The URL: virtual-hosted on AWS (https://bucket.s3.region.amazonaws.com/key), path-style at
    an --endpoint (https://host:port/bucket/key)."""
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ToolError("--endpoint: %s: not an http(s)://host[:port] URL" % endpoint, usage=True)
        base, host, path = "%s://%s" % (parts.scheme, parts.netloc), parts.netloc, "/" + bucket + "/"
    else:
        host = "%s.s3.%s.amazonaws.com" % (bucket, region)
        base, path = "https://" + host, "/"
    path += sigv4.encode_path(key)
    try:
        target = sigv4.presign(
            method,
            path,
            "",
            [("Host", host)],
            credentials.access_key,
            credentials.secret_key,
            region,
            "s3",
            utc.amz_date(int(time.time() if now is None else now)),
            expires_s,
            session_token=credentials.token,
            s3=True,
        )
    except ValueError as e:
        raise ToolError("--expires: %s" % e, usage=True)
    return base + target


def main(argv=None):
    parser = hostclient.parser("presign", __doc__, EXAMPLE)
    parser.add_argument("url", help="s3://bucket/key")
    parser.add_argument("--put", action="store_true", help="a URL to upload the object (default: to download it)")
    parser.add_argument(
        "--expires", type=int, default=3600, help="seconds the URL is valid, 1 to 604800 (7 days); default 3600"
    )
    hostclient.add_profile_args(parser)
    parser.add_argument("--endpoint-url", "--endpoint", dest="endpoint", type=hostclient.endpoint_url,
                        help="http(s)://host[:port] of an S3-compatible server, path-style")  # fmt: skip
    hostclient.add_output_arg(parser)
    args = parser.parse_args(argv)
    bucket, key = parse_s3_url(args.url)
    if not 1 <= args.expires <= sigv4.MAX_EXPIRES_S:
        raise ToolError(
            "--expires: must be 1 to %d seconds (7 days), got %d" % (sigv4.MAX_EXPIRES_S, args.expires), True
        )
    session = hostclient.session_from_args(args)
    credentials = session.get_credentials()
    if credentials is None:
        raise ToolError("no AWS credentials (environment, --profile, ~/.aws, SSO or an instance role)")
    frozen = credentials.get_frozen_credentials()
    method = "PUT" if args.put else "GET"
    url = presigned_url(bucket, key, method, args.expires, frozen, args.region, args.endpoint)
    hostclient.show(args, {"url": url, "method": method, "expires_s": args.expires}, url)
    return 0
