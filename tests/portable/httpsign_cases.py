# Runs signing and verification cases from a JSON file (argv[1]) through httpsign and httpverify
# and prints one JSON result per case; the oracle test runs it on MicroPython.
import json
import sys

import iotsv_httpsign as httpsign
import iotsv_httpverify as httpverify


def run(c):
    key = c["key"].encode()
    headers = [tuple(h) for h in c["headers"]]
    op = c["op"]
    try:
        if op == "sign_cavage":
            return {"value": httpsign.sign_cavage(c["method"], c["target"], headers, "k1", key, c["names"])}
        if op == "sign_rfc9421":
            return {
                "headers": httpsign.sign_rfc9421(
                    c["method"], c["url"], headers, c["components"], "k1", key, created=c["created"]
                )
            }
        if op == "verify_cavage":
            httpverify.verify_cavage(c["method"], c["target"], headers, key, required=(), max_age_s=None)
        elif op == "verify_rfc9421":
            httpverify.verify_rfc9421(c["method"], c["url"], headers, key, max_age_s=None)
        return {"ok": True}
    except httpsign.SignatureError as e:
        return {"ok": False, "error": str(e)}


with open(sys.argv[1]) as f:
    for case in json.load(f):
        print(json.dumps(run(case)))
