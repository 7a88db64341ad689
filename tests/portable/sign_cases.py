# Signs the requests in a JSON file (argv[1]) with sigv4.sign, with sigv4signer.Signer, with the
# Signer given the hash of the body taken piece by piece (sigv4base.pieces_hash), and with that
# Signer giving the value in parts (head, signature; joined here), and prints the four Authorization
# headers, a line each; the botocore differential test runs it on MicroPython.
import json
import sys
from binascii import unhexlify

import iotsv_sigv4 as sigv4
import iotsv_sigv4signer as sigv4signer
from iotsv_sigv4base import pieces_hash

with open(sys.argv[1]) as f:
    cases = json.load(f)
for c in cases:
    out = sigv4.sign(
        c["method"],
        c["path"],
        c["query"],
        [tuple(h) for h in c["headers"]],
        unhexlify(c["body"]),
        c["access_key"],
        c["secret_key"],
        c["region"],
        c["service"],
        c["amz_date"],
        session_token=c["token"],
    )
    print([v for n, v in out if n == "Authorization"][0])
    fast = sigv4signer.Signer(
        c["method"],
        c["path"],
        c["query"],
        [tuple(h) for h in c["headers"]],
        c["access_key"],
        c["secret_key"],
        c["region"],
        c["service"],
        c["token"],
    )
    body = unhexlify(c["body"])
    print([v for n, v in fast.sign(body, c["amz_date"]) if n == "Authorization"][0])
    digest = pieces_hash([body[:3], body[3:]])[0]
    print([v for n, v in fast.sign(None, c["amz_date"], digest) if n == "Authorization"][0])
    head, signature = [v for n, v in fast.sign(None, c["amz_date"], digest, True) if n == "Authorization"][0]
    print(head + signature)
