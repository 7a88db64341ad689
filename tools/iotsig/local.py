"""Start a local stand-in for AWS on this machine and keep it up until Ctrl-C: `dynamodb` (moto
over HTTPS, signatures checked, a table, AWS profiles local-reader and local-admin for the other
verbs; tools/local/localddb.py serve) or `s3` (a bucket and a device user; tools/local/locals3.py). What they
print says where they listen and how the other verbs reach them.
"""

import os
import sys

from . import TOOLS, hostclient

EXAMPLE = "iotsig local dynamodb --workdir .local"
STAND_INS = {"dynamodb": ("local/localddb.py", "serve"), "s3": ("local/locals3.py",)}


def main(argv=None):
    parser = hostclient.parser("local", __doc__, EXAMPLE)
    parser.add_argument("service", choices=sorted(STAND_INS))
    parser.add_argument("--workdir", help="where its files go (default: .local/ of the checkout)")
    args = parser.parse_args(argv)
    script = STAND_INS[args.service]
    command = [sys.executable, os.path.join(TOOLS, script[0])] + list(script[1:])
    if args.workdir:
        workdir = args.workdir if args.service == "dynamodb" else os.path.join(args.workdir, "s3")
        command += ["--workdir", workdir]
    sys.stdout.flush()
    os.execv(sys.executable, command)  # the stand-in takes this process: Ctrl-C and exit codes are its own
