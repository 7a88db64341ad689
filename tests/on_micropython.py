"""A portable test module, or one test of it, on MicroPython, as make check runs it: with the
import path of the portable tests and the stub servers they talk to. Exits 1 when a test failed."""

import argparse
import os
import sys
import tempfile

sys.path.insert(1, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import helpers  # noqa: E402  (tools/ is on the path now)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "tests",
        nargs="+",
        help="a module of tests/portable (test_spool), or one of its tests (test_spool.test_x)",
    )
    parser.add_argument("--image", action="store_true", help="on the 32-bit interpreter of make image")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env, servers = helpers.stub_servers(helpers.make_pki(folder), folder)
        try:
            code = "image" if args.image else "source"
            result = helpers.run_portable("mprunner.py", args.tests, env=env, code=code)
        finally:
            for server in servers:
                server.close()
    sys.stdout.write(result.stdout + result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
