# Signs the requests in a JSON file (argv[1]) with sigv4.sign and prints one Authorization header
# per line; the botocore differential test runs it on MicroPython.
import json
import sys
from binascii import unhexlify

import sigv4

with open(sys.argv[1]) as f:
    cases = json.load(f)
for c in cases:
    out = sigv4.sign(
        c["method"], c["path"], c["query"], [tuple(h) for h in c["headers"]],
        unhexlify(c["body"]), c["access_key"], c["secret_key"], c["region"], c["service"],
        c["amz_date"], session_token=c["token"],
    )
    print([v for n, v in out if n == "Authorization"][0])
