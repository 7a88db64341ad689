# The portable library: SigV4, HMAC, UTC, an HTTP/1.1 client over verified TLS, DynamoDB, HTTP
# Signatures. Runs unchanged on MicroPython and CPython; imports nothing of the app or a board.
# This file is the one list of its modules: mip's package.json is made from it (make package.json).
# Its metadata() is the only one: the other parts include() it, and a build allows one call.
metadata(
    version="0.2.0",
    description="SigV4 signing, an HTTP/1.1 client over verified TLS, DynamoDB and HTTP Signatures for MicroPython",
)

module("hmac_sha256.py")
module("utc.py")
module("ticks.py")
module("url.py")
module("sigv4base.py")
module("sigv4signer.py")
module("sigv4.py")
module("refusal.py")
module("transient.py")
module("numtext.py")
module("oserror.py")
module("httpclient.py")
module("dynamodb.py")
module("s3.py")
module("sha512.py")
module("ed25519.py")
module("structfield.py")
module("structparse.py")
module("httpsign.py")
module("httpverify.py")
