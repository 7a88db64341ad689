# S3 end to end against the local S3 (moto's, in the server tools/local/localddb.py runs, over HTTPS with
# signatures checked): a 1 MB object downloaded into a file and uploaded back by MicroPython in a
# small heap (the 64-bit port from .mpy files in 80K, the 32-bit image in 48K), its SHA-256 and the
# peak live heap measured at every piece; a wrong secret refused; presigned GET and PUT URLs from
# sigv4.presign and `iotsig presign`. moto does not check a presigned URL's signature (with checking
# on it answers one 500, with it off it takes any), so ours is proved equal to botocore's
# S3SigV4QueryAuth for the same request and shown accepted with checking off.
import datetime
import hashlib
import os
import ssl
import urllib.error
import urllib.request
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import helpers
import iotsv_httpclient as httpclient
import iotsv_s3 as s3
import layout
import unixport
from local.locals3 import LocalS3

OBJECT = "releases/app v1.2.bin"  # a space: the key is percent-encoded in the path
DATA = bytes(((i * 7919) >> 3) & 0xFF for i in range(1 << 20))
SHA256 = hashlib.sha256(DATA).hexdigest()

# On the board: download into a file, upload that file; the live heap after a collection at each
# piece, the largest printed.
DEVICE = """
import gc, sys
import iotsv_httpclient as httpclient, iotsv_s3 as s3
host, port, ca, key_id, secret, bucket, key, out, up = sys.argv[1:10]
class Keys:
    access_key = key_id
    secret_key = secret
    session_token = None
peak = [0]
def measure(size):
    gc.collect()
    if gc.mem_alloc() > peak[0]:
        peak[0] = gc.mem_alloc()
with open(ca, "rb") as f:
    conn = httpclient.Connection(host, int(port), ca_der=f.read(), max_response=4096)
conn.tls_context()
gc.collect()
print("start", gc.mem_alloc())
size, digest = s3.get_to_file(conn, Keys, "us-east-1", bucket, key, out, progress=measure)
print("get", size, digest, peak[0])
peak[0] = 0
size, digest, etag = s3.put_file(conn, Keys, "us-east-1", bucket, up, out, progress=measure)
print("put", size, digest, etag, peak[0])
"""


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    server = LocalS3(str(tmp_path_factory.mktemp("locals3"))).start()
    try:
        yield server.provision([(OBJECT, DATA)])
    finally:
        server.stop()


class Keys:
    def __init__(self, key, token=None):
        self.access_key, self.secret_key, self.session_token = key[0], key[1], token


def _conn(local):
    with open(local.ca_der, "rb") as f:
        return httpclient.Connection("localhost", local.port, ca_der=f.read())


def _object(local, key):
    return local.client(local.device_key).get_object(Bucket=local.bucket, Key=key)["Body"].read()


@pytest.mark.parametrize("code,heap", [("mpy", "80K"), ("image", "48K")])
def test_board_downloads_and_uploads_1_mb_in_a_small_heap(local, tmp_path, code, heap):
    if code == "mpy":
        layout.build_mpy(unixport.MPY_DIR)
    script = tmp_path / "device.py"
    script.write_text(DEVICE)
    out = str(tmp_path / "app.bin")
    uploaded = "uploads/%s.bin" % code
    args = [str(script), "localhost", str(local.port), local.ca_der, *local.device_key, local.bucket, OBJECT, out]
    r = unixport.run(args + [uploaded], unixport.code_path(code), heap=heap, code=code, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = dict((line.split()[0], line.split()[1:]) for line in r.stdout.splitlines())
    assert lines["get"][:2] == [str(len(DATA)), SHA256]
    assert lines["put"][:2] == [str(len(DATA)), SHA256]
    with open(out, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == SHA256
    assert hashlib.sha256(_object(local, uploaded)).hexdigest() == SHA256  # read back signed by boto3
    start, get_peak, put_peak = int(lines["start"][0]), int(lines["get"][2]), int(lines["put"][3])
    print("%s %s: live heap at start %d, peak %d downloading, %d uploading" % (code, heap, start, get_peak, put_peak))
    assert get_peak < int(heap[:-1]) * 1024 and put_peak < int(heap[:-1]) * 1024


def test_wrong_secret_is_refused_and_no_file_left(local, tmp_path):
    path = str(tmp_path / "x.bin")
    keys = Keys((local.device_key[0], "not-the-secret"))
    with pytest.raises(s3.S3Error) as e:
        s3.get_to_file(_conn(local), keys, "us-east-1", local.bucket, OBJECT, path)
    assert (e.value.code, e.value.status) == ("SignatureDoesNotMatch", 403)
    assert not os.path.exists(path)
    with pytest.raises(s3.S3Error) as e:
        s3.get_to_file(_conn(local), Keys(local.device_key), "us-east-1", local.bucket, "no/such/key", path)
    assert (e.value.code, e.value.status) == ("NoSuchKey", 404)


def _open(url, local, data=None):
    ctx = ssl.create_default_context(cafile=local.ca_pem)
    # urllib would label a body form data, which moto's front end parses away
    headers = {"Content-Type": "application/octet-stream"} if data is not None else {}
    req = urllib.request.Request(url, data=data, method="PUT" if data is not None else "GET", headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _presign_tool(local, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=local.device_key[0], AWS_SECRET_ACCESS_KEY=local.device_key[1])
    env.pop("AWS_PROFILE", None)
    return helpers.iotsig(["presign", *args, "--endpoint-url", local.endpoint, "--region", "us-east-1"], env=env)


def _botocore_signature(url, method, key, amz_date, expires_s):
    request = AWSRequest(method=method, url=url.split("?")[0])
    now = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        S3SigV4QueryAuth(Credentials(*key), "s3", "us-east-1", expires=expires_s).add_auth(request)
    return dict(parse_qsl(urlsplit(request.url).query))["X-Amz-Signature"]


def test_presigned_get_and_put_urls(local):
    get = _presign_tool(local, "s3://%s/%s" % (local.bucket, OBJECT), "--expires", "600")
    put = _presign_tool(local, "s3://%s/uploads/presigned.bin" % local.bucket, "--put")
    assert get.returncode == 0 and put.returncode == 0, get.stderr + put.stderr
    get_url, put_url = get.stdout.strip(), put.stdout.strip()
    assert get_url.startswith(local.endpoint + "/firmware/releases/app%20v1.2.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&")
    for url, method, expires in ((get_url, "GET", 600), (put_url, "PUT", 3600)):
        query = dict(parse_qsl(urlsplit(url).query))
        assert query["X-Amz-Expires"] == str(expires) and query["X-Amz-SignedHeaders"] == "host"
        assert query["X-Amz-Signature"] == _botocore_signature(
            url, method, local.device_key, query["X-Amz-Date"], expires
        )
    # moto cannot check these: with checking on it fails on the missing Authorization header
    bad = get_url[:-4] + "0000"
    assert _open(bad, local)[0] >= 400
    local.auth(False)
    try:
        assert _open(get_url, local) == (200, DATA)
        status, _ = _open(put_url, local, b"uploaded through a presigned URL")
        assert status == 200
    finally:
        local.auth(True)
    assert _object(local, "uploads/presigned.bin") == b"uploaded through a presigned URL"


def test_presign_tool_errors_are_one_line(local, tmp_path):
    for args, code, message in (
        (["s3://firmware/x", "--expires", "0"], 2, "error: --expires: must be 1 to 604800 seconds (7 days), got 0"),
        (["s3://firmware/x", "--expires", "604801"], 2, "error: --expires: must be 1 to 604800 seconds (7 days)"),
        (["firmware/x"], 2, "error: firmware/x: not an s3://bucket/key URL"),
        (["s3://firmware"], 2, "error: s3://firmware: not an s3://bucket/key URL (bucket and key both needed)"),
    ):
        r = _presign_tool(local, *args)
        assert r.returncode == code and r.stderr.startswith(message) and r.stderr.count("\n") == 1, r.stderr
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    r = helpers.iotsig(["presign", "s3://firmware/x"], env=env)
    assert (
        r.returncode == 1
        and r.stderr == "error: no AWS credentials (environment, --profile, ~/.aws, SSO or an instance role)\n"
    )
    assert local.device_key[1] not in r.stdout + r.stderr


@pytest.mark.image
def test_device_side_presign_matches_the_tool(local, tmp_path):
    """The board presigns too (sigv4.presign on MicroPython): the same URL as the host tool's for
    the same instant, accepted by the local S3."""
    script = tmp_path / "presign_on_board.py"
    script.write_text(
        "import sys, iotsv_sigv4 as sigv4\n"
        "print(sigv4.presign('GET', sys.argv[1], '', [('Host', sys.argv[2])], sys.argv[3], sys.argv[4],"
        " 'us-east-1', 's3', sys.argv[5], 300, s3=True))\n"
    )
    amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    host = "localhost:%d" % local.port
    path = s3.object_path(local.bucket, OBJECT)
    r = unixport.run([str(script), path, host, *local.device_key, amz_date], unixport.code_path("image"), code="image")
    assert r.returncode == 0, r.stderr
    url = local.endpoint + r.stdout.strip()
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["X-Amz-Signature"] == _botocore_signature(url, "GET", local.device_key, amz_date, 300)
    local.auth(False)
    try:
        assert _open(url, local) == (200, DATA)
    finally:
        local.auth(True)
