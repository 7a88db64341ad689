"""A portable test module, or one test of it, on MicroPython, as make check runs it: the import
path of the portable tests and the stub servers they talk to.

    .venv/bin/python tests/on_micropython.py test_spool [test_utc.test_name ...] [--image]

--image: on the 32-bit interpreter of make image. Exits 1 when a test failed.
"""

import os
import sys
import tempfile

sys.path.insert(1, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import helpers  # noqa: E402  (tools/ is on the path now)


def main(argv):
    names = [a for a in argv if a != "--image"]
    if not names or any(a.startswith("-") for a in names):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        env, servers = helpers.stub_servers(helpers.make_pki(folder), folder)
        try:
            code = "image" if "--image" in argv else "source"
            result = helpers.run_portable("mprunner.py", names, env=env, code=code)
        finally:
            for server in servers:
                server.close()
    sys.stdout.write(result.stdout + result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
