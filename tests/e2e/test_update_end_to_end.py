# Updates over the air end to end: the firmware on the unix port against the local S3 and DynamoDB
# (moto over HTTPS, signatures and the device's S3 policy checked), releases made by
# iotsig release. One device lives through it all, in order: v2 taken and good; v3 raising at
# import rolled back to v2, recorded, reported to S3 with the crash log and never retried; a file
# changed after signing and a release signed by another key refused; a download truncated and a
# connection reset mid-download (a proxy between device and S3) recovered at the next check; a
# SIGKILL at the switch's rename recovered; then a bucket writer without the key puts latest back
# to an older release's signed pointer, an unsigned one and one with its number raised: each
# refused before a manifest is fetched; the release key handed over to a new one by v9, with a
# SIGKILL while the device puts it in place; latest signed again by refresh. Every run says which
# release each loaded module came from (one, always), and the table ends with every reading
# exactly once.
import os
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time

import pytest

import helpers
import unixport
from iotsig import release
from local.locals3 import LocalS3

DEVICE = "ota-device"  # the one device of test_the_update_cycle
RUNS = []
MARK = re.compile(r"^release check: (.*)$", re.M)


class Proxy:
    """TLS in front of the local S3, relaying bytes both ways; once armed with (name, mode, budget), the
    response to the next request whose line names `name` is cut after `budget` bytes: "truncate"
    closes the connection (a body shorter than its Content-Length), "reset" resets it."""

    def __init__(self, upstream_port, pki):
        self.upstream_port = upstream_port
        self.armed = None
        self.cuts = 0
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(os.path.join(pki, "server.pem"), os.path.join(pki, "server.key"))
        self.up_ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(raw,), daemon=True).start()

    def _handle(self, raw):
        try:
            client = self.ctx.wrap_socket(raw, server_side=True)
            up = self.up_ctx.wrap_socket(
                socket.create_connection(("localhost", self.upstream_port)), server_hostname="localhost"
            )
        except OSError:
            raw.close()
            return
        # One thread relays both ways: an SSL socket is not for two threads at once (a send racing a
        # blocked recv could fail, and the fd closed under that recv sends no FIN: the firmware then
        # waited out its timeout instead of meeting the cut).
        cut = None
        try:
            while True:
                ready = [s for s in (client, up) if s.pending()] or select.select([client, up], [], [], 120)[0]
                if not ready:
                    return
                for src in ready:
                    data = _recv_some(src)
                    if data is None:
                        continue  # no application data yet (a session ticket, a partial record)
                    if not data:
                        return
                    if src is client:
                        if self.armed and self.armed[0].encode() in data.split(b"\r\n", 1)[0]:
                            cut, self.armed = (self.armed[1], self.armed[2]), None
                        up.sendall(data)
                        continue
                    if cut is not None:
                        mode, left = cut
                        if len(data) >= left:
                            client.sendall(data[:left])
                            self.cuts += 1
                            if mode == "reset":  # closed with an RST
                                # once the firmware has read what was sent: an RST discards what the
                                # receiver has not read yet, and a response cut before its first byte
                                # is a stale connection, which the client rightly asks again
                                time.sleep(0.5)
                                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                            else:  # a FIN after part of the body
                                client.shutdown(socket.SHUT_RDWR)
                            return
                        cut = (mode, left - len(data))
                    client.sendall(data)
        except OSError:
            pass
        finally:
            for s in (client, up):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self):
        self.sock.close()


def _recv_some(sock):
    """What an SSL socket has of application data (b"" at its end), or None when nothing yet."""
    sock.settimeout(0.05)
    try:
        return sock.recv(65536)
    except (socket.timeout, ssl.SSLWantReadError):
        return None
    finally:
        sock.settimeout(30)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    work = tmp_path_factory.mktemp("ota")
    local = LocalS3(str(work / "server")).start()
    local.server.provision()
    releaser = local.provision_updates(DEVICE)
    proxy = Proxy(local.port, local.server.pki)
    key_path = str(work / "release.key")
    r = helpers.iotsig(["release", "keygen", key_path])
    assert r.returncode == 0, r.stderr
    public = re.search(r'^UPDATE_PUBLIC_KEY = "([0-9a-f]{64})"$', r.stdout, re.M).group(1)
    try:
        yield {
            "local": local,
            "releaser": releaser,
            "proxy": proxy,
            "key_path": key_path,
            "key": release.load_key(key_path),
            "public": public,
            "work": work,
            "s3": local.client(releaser),
        }
    finally:
        proxy.close()
        local.stop()


def bundle(world, version, broken=False):
    """The firmware's modules as .py, each marked with its release; iotsv_app.py prints what every loaded
    module of the app came from (a mixed version would show two); broken: iotsv_app.py raises at import."""
    folder = str(world["work"] / ("bundle-" + version))
    shutil.rmtree(folder, ignore_errors=True)
    release.build_bundle(folder, "py")
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "a") as f:
            f.write('\nRELEASE = "%s"\n' % version)
    with open(os.path.join(folder, "iotsv_app.py"), "a") as f:
        f.write(
            "\nimport sys as _sys\n"
            "_ours = %r\n"
            'print("release check: " + " ".join(sorted(set(getattr(m, "RELEASE", "-") for n, m in'
            " _sys.modules.items() if n in _ours))))\n" % [n.rsplit(".", 1)[0] for n in os.listdir(folder)]
        )
        if broken:
            f.write('raise RuntimeError("release %s is broken at import")\n' % version)
    return folder


def publish(world, version, broken=False, key=None, **kw):
    return release.publish(
        world["s3"],
        "firmware",
        "releases",
        version,
        bundle(world, version, broken),
        key or world["key"],
        log=lambda *_: None,
        **kw,
    )


def configure(world, folder, readings, host=None):
    local = world["local"]
    extra = (
        "DELIVERY_TIMEOUT_S = 20\nHTTP_TIMEOUT_S = 10\n"  # slow machine: cuts come from the proxy
        'UPDATE_BUCKET = "firmware"\nUPDATE_PREFIX = "releases"\nUPDATE_PUBLIC_KEY = "%s"\n'
        'UPDATE_HOST = "%s"\nUPDATE_CHECK_S = 1\nUPDATE_PROBATION_READINGS = 3\nUPDATE_PROBATION_S = 120\n'
        'UPDATE_LOG_PREFIX = "logs"\n' % (world["public"], host or "localhost:%d" % local.port)
    )
    local.server.write_config(str(folder), device_id=DEVICE, readings=readings, interval_s=0.2, extra=extra)


def run_until_done(folder, max_runs=6, argv_prefix=()):
    """The firmware run again after each restart (exit 4: a switch or a rollback) until it exits
    otherwise; every run's output, the last exit code."""
    outs = []
    for _ in range(max_runs):
        argv, env, cwd = unixport.firmware(str(folder))
        r = subprocess.run(
            list(argv_prefix) + argv,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
        outs.append(r.stdout)
        RUNS.append(1)
        with open(os.path.join(str(folder), "run-%02d.out" % len(RUNS)), "w") as f:
            f.write(r.stdout + "exit %d\n" % r.returncode)  # for a person reading a failure
        argv_prefix = ()
        if r.returncode not in (4, -9, 137):  # a restart, or a SIGKILL the board comes back from
            return outs, r.returncode
    return outs, r.returncode


def switching_to(tmp, version):
    """Whether ota/current.tmp is written aside and names version (the switch to it under way)."""
    try:
        with open(tmp, "rb") as f:
            return f.read().startswith(version + b" ")
    except OSError:
        return False


def releases_run(outs):
    """Each run's release check line: the one release every module of the app came from."""
    found = []
    for out in outs:
        marks = MARK.findall(out)
        assert len(marks) <= 1, out
        if marks:
            assert len(marks[0].split()) == 1, "a mixed version ran: " + marks[0]
            found.append(marks[0])
        else:
            found.append(None)
    return found


def update_lines(outs):
    return [line for out in outs for line in out.splitlines() if line.startswith("update: ")]


def current(folder):
    with open(os.path.join(str(folder), "ota", "current")) as f:
        return f.read().split()[:2]


def seqs(world):
    return sorted(int(i["seq"]["N"]) for i in world["local"].server.readings(DEVICE))


def test_the_update_cycle(world, tmp_path):
    folder = tmp_path / "device"
    s3 = world["s3"]

    # v2 by the command line tool: taken, on probation, good
    bundle_v2 = bundle(world, "v2")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=world["releaser"][0], AWS_SECRET_ACCESS_KEY=world["releaser"][1])
    local = world["local"]
    argv = ["release", "publish", "s3://firmware/releases", "--version", "v2"]
    argv += ["--key", world["key_path"], "--from", bundle_v2, "--endpoint-url", local.endpoint, "--ca", local.ca_pem]
    r = helpers.iotsig(argv + ["--region", "us-east-1"], env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "s3://firmware/releases/latest -> v2" in r.stdout
    # a version is never published twice unless told: a device that took it would not take it again
    manifest = s3.get_object(Bucket="firmware", Key="releases/v2/manifest")["Body"].read()
    r = helpers.iotsig(argv + ["--region", "us-east-1"], env=env, timeout=60)
    assert r.returncode == 1 and r.stderr == (
        "error: release v2 is in s3://firmware/releases/v2/ already: versions are never reused (a device that"
        " took it would not take it again); publish a new --version, or --replace\n"
    ), r.stderr
    assert s3.get_object(Bucket="firmware", Key="releases/v2/manifest")["Body"].read() == manifest
    assert b"\nrelease 1\n" in manifest  # the first release under the prefix
    # a release number at or below one published is refused: devices would refuse the release
    r = helpers.iotsig(argv[:4] + ["v2b", "--release", "1"] + argv[5:] + ["--region", "us-east-1"], env=env, timeout=60)
    assert r.returncode == 1 and r.stderr.startswith("error: --release 1: release 1 is published under"), r.stderr
    r = helpers.iotsig(argv[:-4] + ["--arch", "foo"], env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert (
        r.stderr.startswith("error: argument --arch: invalid choice: 'foo' (choose from ") and "xtensawin" in r.stderr
    )
    configure(world, folder, 8)
    outs, code = run_until_done(folder)
    assert code == 0, outs
    assert releases_run(outs) == [None, "v2"], outs  # the base (unmarked), then v2 alone
    lines = update_lines(outs)
    assert lines[0].startswith(
        "update: v2 installed (%d file(s), signature and SHA-256 checked)" % len(os.listdir(bundle_v2))
    )
    assert "update: v2 is good: 3 reading(s) delivered on probation" in lines
    assert current(folder) == ["v2", "good"]

    # v3 raises at import: rolled back to v2, recorded, reported with the crash log, not retried
    publish(world, "v3", broken=True)
    configure(world, folder, 16)
    outs, code = run_until_done(folder)
    assert code == 0, outs
    assert releases_run(outs) == ["v2", "v3", "v2"], outs  # v3's iotsv_app.py says so before it raises
    lines = update_lines(outs)
    why = "cannot start: RuntimeError: release v3 is broken at import"
    assert "update: v3 rolled back to v2: %s" % why in lines, lines
    assert "update: latest is v3, which was rolled back before: not installing it again" in lines
    assert sum("v3 installed" in line for line in lines) == 1
    with open(os.path.join(str(folder), "ota", "failed")) as f:
        assert f.read() == "v3 %s\n" % why
    assert not os.path.exists(os.path.join(str(folder), "ota", "v3"))
    assert not os.path.exists(os.path.join(str(folder), "ota", "report"))  # uploaded, then removed
    uploaded = [line for line in lines if "uploaded to s3://firmware/logs/%s/" % DEVICE in line]
    assert len(uploaded) == 2, lines  # the rollback report and the crash log
    report_key = re.search(r"ota/report uploaded to s3://firmware/(\S+)", " ".join(uploaded)).group(1)
    world["local"].auth(False)
    try:
        body = world["local"].client().get_object(Bucket="firmware", Key=report_key)["Body"].read().decode()
    finally:
        world["local"].auth(True)
    assert body == "v3 %s\n" % why

    # v4: a file changed after signing; v5: released with another key (its latest refused); v2 runs on
    publish(world, "v4")
    s3.put_object(Bucket="firmware", Key="releases/v4/iotsv_sensors.py", Body=b"print('not what was signed')\n")
    configure(world, folder, 19)
    outs, code = run_until_done(folder)
    assert code == 0 and releases_run(outs) == ["v2"], outs
    assert (
        "update: v4 refused: iotsv_sensors.py does not match the signed manifest (size 29, the manifest says"
        in (update_lines(outs)[0])
    )
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate()
    publish(world, "v5", key=other)
    configure(world, folder, 22)
    outs, code = run_until_done(folder)
    assert code == 0 and releases_run(outs) == ["v2"], outs
    assert update_lines(outs)[0] == "update: latest refused: latest's signature does not verify with UPDATE_PUBLIC_KEY"
    assert current(folder) == ["v2", "good"]
    assert sorted(os.listdir(os.path.join(str(folder), "ota"))) == [
        "current",
        "failed",
        "latest",
        "release",
        "v2",
        "v4.new",
    ]

    # v6 through a proxy that truncates iotsv_app.py's download once, then resets it once: each one line,
    # the next check resumes and installs v6
    proxy = world["proxy"]
    publish(world, "v6")
    pointer_v6 = s3.get_object(Bucket="firmware", Key="releases/latest")["Body"].read()  # what an attacker keeps
    configure(world, folder, 40, host="localhost:%d" % proxy.port)
    proxy.armed = ("/releases/v6/iotsv_app.py", "truncate", 2000)
    outs, code = run_until_done(folder)
    lines = update_lines(outs)
    assert any(
        re.match(r"update: v6: download of iotsv_app\.py failed \(.*truncated.*\); trying again at the next check$", x)
        for x in lines
    ), lines
    assert code == 0 and releases_run(outs) == ["v2", "v6"], outs
    publish(world, "v7")
    configure(world, folder, 55, host="localhost:%d" % proxy.port)
    proxy.armed = ("/releases/v7/iotsv_sensors.py", "reset", 1200)
    outs, code = run_until_done(folder)
    lines = update_lines(outs)
    assert any(
        re.match(r"update: v7: download of iotsv_sensors\.py failed \(.*\); trying again at the next check$", x)
        for x in lines
    ), lines
    assert code == 0 and releases_run(outs) == ["v6", "v7"], outs
    assert proxy.cuts == 2

    # v8: SIGKILL at the rename that makes it current: the next start runs v7, whole, and takes v8
    strace = shutil.which("strace")
    if strace and subprocess.run([strace, "-qq", "-o", os.devnull, "true"]).returncode == 0:
        publish(world, "v8")
        configure(world, folder, 65)
        # every rename held 1 s on entry: the kill lands while rename(ota/current.tmp, ota/current)
        # waits, the new current written aside and not yet in place
        argv, env, cwd = unixport.firmware(str(folder))
        trace = [strace, "-f", "-qq", "-o", os.devnull, "-e", "trace=rename", "-e", "inject=rename:delay_enter=1000000"]
        proc = subprocess.Popen(trace + argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)  # fmt: skip
        tmp = os.path.join(str(folder), "ota", "current.tmp")
        deadline = time.monotonic() + 60
        # the switch to v8, not v7's own "good" being written (v7 may still be on trial at start)
        while not switching_to(tmp, b"v8") and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        killed = proc.communicate()[0]
        assert os.path.exists(tmp) and current(folder) == ["v7", "good"], killed
        outs, code = run_until_done(folder)
        assert code == 0, outs
        assert releases_run([killed] + outs) == ["v7", "v7", "v8"], outs  # killed at the switch: v7 whole, then v8
        assert "update: v8 installed" in outs[0], outs
        assert current(folder) == ["v8", "good"]
        last, newest = 65, "v8"
    else:
        last, newest = 55, "v7"

    # An attacker who can write the bucket but not sign (the releaser's S3 credentials, not the key):
    # latest put back to what it said when v6, an older release, was published. Refused before any
    # manifest is fetched, said once, reported with the next log upload; the device stays.
    floor = int(open(os.path.join(str(folder), "ota", "release")).read().split()[0])
    s3.put_object(Bucket="firmware", Key="releases/latest", Body=pointer_v6)
    configure(world, folder, last + 10)
    outs, code = run_until_done(folder)
    assert code == 0 and releases_run(outs) == [newest], outs
    lines = update_lines(outs)
    v6 = s3.get_object(Bucket="firmware", Key="releases/v6/manifest")["Body"].read()
    number = int(re.search(rb"\nrelease (\d+)\n", v6).group(1))
    refusal = "v6 refused: release %d is older than release %d already installed" % (number, floor)
    assert lines.count("update: " + refusal) == 1, lines
    assert current(folder) == [newest, "good"] and not os.path.exists(os.path.join(str(folder), "ota", "v6"))
    # the report went up (with the next check's log upload, in the same run)
    assert any("ota/report uploaded" in line for line in lines), lines
    world["local"].auth(False)
    try:
        logs = world["local"].client().list_objects_v2(Bucket="firmware", Prefix="logs/%s/rollback-" % DEVICE)
        bodies = [
            world["local"].client().get_object(Bucket="firmware", Key=o["Key"])["Body"].read().decode()
            for o in logs["Contents"]
        ]
    finally:
        world["local"].auth(True)
    assert refusal + "\n" in bodies, bodies
    # latest replaced by an unsigned one (as releases had before), then by v6's with its number raised
    s3.put_object(Bucket="firmware", Key="releases/latest", Body=b"v6\n")
    configure(world, folder, last + 12)
    outs, code = run_until_done(folder)
    assert code == 0 and releases_run(outs) == [newest], outs
    assert "update: latest refused: latest is not signed (no ed25519 line at its end)" in update_lines(outs), outs
    raised = pointer_v6.replace(b"\nrelease %d\n" % number, b"\nrelease 99\n")
    s3.put_object(Bucket="firmware", Key="releases/latest", Body=raised)
    configure(world, folder, last + 14)
    outs, code = run_until_done(folder)
    assert code == 0 and releases_run(outs) == [newest], outs
    lines = update_lines(outs)
    assert "update: latest refused: latest's signature does not verify with UPDATE_PUBLIC_KEY" in lines, lines
    assert not [line for line in lines if "v6" in line], lines  # no manifest fetched for either
    assert current(folder) == [newest, "good"]
    assert int(open(os.path.join(str(folder), "ota", "release")).read().split()[0]) == floor
    last += 14

    # The release key replaced: v9, signed with the old key, hands over to new.key; the device takes
    # it once v9 passed probation, with the power cut (SIGKILL) while ota/key is renamed into place
    # the first time, and from then on accepts only the new key.
    new_key = str(world["work"] / "new.key")
    r = helpers.iotsig(["release", "keygen", new_key, "--after", world["key_path"]])
    assert r.returncode == 0, r.stderr
    new_public = open(new_key + ".pub").read().strip()
    publish(world, "v9", next_key=new_public)
    ota = os.path.join(str(folder), "ota")
    last += 20
    configure(world, folder, last)
    if strace and subprocess.run([strace, "-qq", "-o", os.devnull, "true"]).returncode == 0:
        argv, env, cwd = unixport.firmware(str(folder))
        trace = [strace, "-f", "-qq", "-o", os.devnull, "-e", "trace=rename", "-e", "inject=rename:delay_enter=300000"]
        outs = []
        for _ in range(3):  # v9 installed (restart), then on probation, good, and the key taken
            proc = subprocess.Popen(trace + argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, start_new_session=True)  # fmt: skip
            deadline = time.monotonic() + 90
            while not os.path.exists(os.path.join(ota, "key.tmp")) and time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                time.sleep(0.02)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                outs.append(proc.communicate()[0])
                break
            outs.append(proc.communicate()[0])
        assert os.path.exists(os.path.join(ota, "key.tmp")) and not os.path.exists(os.path.join(ota, "key")), outs
        assert current(folder) == ["v9", "good"] and os.path.exists(os.path.join(ota, "nextkey")), outs
    outs, code = run_until_done(folder)
    assert code == 0, outs
    lines = update_lines(outs)
    assert (
        "update: v9 passed probation: its release key %s... is the only one accepted from now on" % (new_public[:16])
        in lines
    ), lines
    with open(os.path.join(ota, "key")) as f:
        assert f.read() == new_public + "\n"
    assert not os.path.exists(os.path.join(ota, "nextkey"))
    # the old key's next release is refused (its latest first); the new key's is taken, numbered on
    publish(world, "v10")
    last += 6
    configure(world, folder, last)
    outs, code = run_until_done(folder)
    assert code == 0 and releases_run(outs) == ["v9"], outs
    assert (
        "update: latest refused: latest's signature does not verify with the release key adopted in ota/key"
        in update_lines(outs)
    ), outs
    new = release.load_key(new_key)
    publish(world, "v11", key=new, previous=release.previous_keys(new_key))
    v11 = s3.get_object(Bucket="firmware", Key="releases/v11/manifest")["Body"].read()
    assert int(re.search(rb"\nrelease (\d+)\n", v11).group(1)) > floor  # above the old key's releases
    last += 8
    configure(world, folder, last)
    outs, code = run_until_done(folder)
    assert code == 0 and releases_run(outs) == ["v9", "v11"], outs
    assert current(folder) == ["v11", "good"]
    # refresh: latest signed again as it is, by the release host's scheduler
    before = s3.get_object(Bucket="firmware", Key="releases/latest")["Body"].read()
    time.sleep(1.1)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=world["releaser"][0], AWS_SECRET_ACCESS_KEY=world["releaser"][1])
    argv = ["release", "refresh", "s3://firmware/releases", "--key", new_key, "--endpoint-url", local.endpoint]
    r = helpers.iotsig(argv + ["--ca", local.ca_pem, "--region", "us-east-1"], env=env, timeout=60)
    assert r.returncode == 0 and "latest -> v11 (release " in r.stdout, r.stderr
    after = s3.get_object(Bucket="firmware", Key="releases/latest")["Body"].read()
    fields = release.signed_fields(after, new.public_key())
    assert fields == dict(release.signed_fields(before, new.public_key()), signed=fields["signed"])
    assert int(fields["signed"]) > int(release.signed_fields(before, new.public_key())["signed"])
    r = helpers.iotsig(argv[:4] + [world["key_path"]] + argv[5:] + ["--ca", local.ca_pem, "--region", "us-east-1"],
                       env=env, timeout=60)  # fmt: skip
    assert r.returncode == 1 and "is not a pointer this key signed" in r.stderr, r.stderr
    assert seqs(world) == list(range(1, last + 1))  # every reading once, across every update and rollback


def test_the_device_policy_allows_only_what_it_needs(world):
    local = world["local"]
    device = local.client(local.server.device_key)
    publish(world, "policy-check")
    device.get_object(Bucket="firmware", Key="releases/policy-check/manifest")
    device.put_object(Bucket="firmware", Key="logs/%s/x.txt" % DEVICE, Body=b"x")
    import botocore.exceptions

    for call in (
        lambda: device.put_object(Bucket="firmware", Key="releases/latest", Body=b"v9\n"),
        lambda: device.put_object(Bucket="firmware", Key="logs/another-device/x.txt", Body=b"x"),
        lambda: device.get_object(Bucket="firmware", Key="logs/%s/x.txt" % DEVICE),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.image
def test_an_update_runs_in_the_image_s_52k(world, tmp_path):
    """The 32-bit image (the firmware frozen in) in -X heapsize=52K delivers, checks, downloads
    and verifies a release and switches to it; the live heap at its fullest (after a collection
    at every request sent, S3's included) is printed and stays under the heap."""
    publish(world, "img2")  # latest -> img2, signed
    folder = tmp_path / "image-device"
    configure(world, folder, 5)
    config = folder / "config.py"
    config.write_text(config.read_text().replace("'%s'" % DEVICE, "'ota-image'"))
    probe = os.path.join(unixport.PROBES, "peak_heap_mp.py")
    argv, env, cwd = unixport.firmware(
        str(folder), code="image", heap="52K", extra_path=[unixport.PROBES], entry=(probe,)
    )
    r = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 4, r.stdout
    assert "update: img2 installed (" in r.stdout, r.stdout
    peak = int(re.search(r'"peak_live_heap": (\d+)', r.stdout).group(1))
    print("image 52K: peak live heap at a request, delivering and updating: %d bytes" % peak)
    assert 0 < peak < 48 * 1024
    assert current(folder) == ["img2", "trial"]
