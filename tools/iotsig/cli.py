"""iotsig: the operator's command, a verb per job, as the AWS CLI has them: credentials from the
boto3 chain (--profile), --region, --endpoint-url, --output json|table where a verb prints data;
a usage error exits 2 and a failure 1, each with one line on stderr naming the cause."""

import importlib
import sys

from . import hostclient

# verb: (module of iotsig, what it does); the order is --help's
VERBS = {
    "provision": ("provision", "write a device's config folder (its own keys, or AWS IoT)"),
    "register-device": ("register_device", "register a device with AWS IoT and write its folder"),
    "release": ("release", "make a release key (keygen); build, sign and upload a release (publish)"),
    "presign": ("presign", "print a presigned URL for an S3 object"),
    "put-json": ("put_json", "put JSON lines into a DynamoDB table, numbers exact, nothing overwritten"),
    "plot": ("plot", "draw a device's readings from the table as a PNG"),
    "httpsign": ("http_sign", "sign or verify an HTTP Signatures request as a board does"),
    "certs": ("certs", "make a local CA and server certificates"),
    "fleet-cost": ("fleet_cost", "what a device's readings cost in DynamoDB writes"),
    "local": ("local", "start a local stand-in for AWS (DynamoDB, S3) on this machine"),
}
EXAMPLE = "iotsig put-json --table readings records.jsonl"


def usage():
    lines = [
        "usage: iotsig {%s} [options]" % ",".join(VERBS),
        "",
        "iotsig <verb> --help: its options and an example.",
        "",
    ]
    lines += [__doc__.split("\n\n")[0].replace("\n", " "), "", "verbs:"]
    lines += ["  %-16s %s" % (verb, what) for verb, (_, what) in VERBS.items()]
    return "\n".join(lines + ["", "example:", "  " + EXAMPLE])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        return hostclient.run(lambda _: print(usage(), file=sys.stdout if argv else sys.stderr) or (0 if argv else 2))
    verb = argv[0]
    if verb not in VERBS:
        print("error: %r is not a verb of iotsig (iotsig --help lists them)" % verb, file=sys.stderr)
        return 2
    module = importlib.import_module("iotsig." + VERBS[verb][0])
    return hostclient.run(module.main, argv[1:])
