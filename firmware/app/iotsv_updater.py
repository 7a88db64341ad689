# A release from S3, checked and installed: loaded by iotsv_updates.Updates for a check and dropped
# after it. One check: GET <prefix>/latest (the signed pointer: version, release number, when it
# was signed) and verify it; when it names a version that is neither running nor rolled back
# before, nor older than what the device took, GET <prefix>/<version>/manifest and verify its Ed25519
# signature with UPDATE_PUBLIC_KEY, then download each file it lists into ota/<version>.new,
# checking its size and SHA-256 against the signed manifest, and switch (versions.write: one
# renamed file) and restart. An image release (an ESP32 running frozen code) is streamed into the
# board's next OTA partition instead, hashed as it goes, and set to boot only when it matches.
# Every request is signed with SigV4 by whatever credentials the device has; everything streams
# through the connection's 512-byte pieces, so a check runs in the heap a delivery does.
#
# The manifest, as iotsig release writes it (text; the signature signs every byte before its
# line; read from its file a piece and a line at a time, never whole):
#   iot-sigv4 release 1
#   version v2
#   release 7
#   kind files
#   file app.mpy 6182 <hex SHA-256>
#   ...
#   ed25519 <128 hex digits>
# The release number orders releases: the device keeps the highest it accepted in ota/release
# (written before anything of that release is installed) and refuses one below it, so a bucket
# writer who cannot sign cannot point latest back at an older, genuinely signed release. latest
# is signed by the same key, in the same form:
#   iot-sigv4 latest 1
#   version v2
#   release 7
#   signed 1795412461
#   ed25519 <128 hex digits>
# A manifest may carry "next-key <64 hex digits>": the release key's successor, signed by the key
# in use. It waits in ota/nextkey beside its version, and once that version has passed probation
# (a check runs only then) it goes to ota/key, which from then on is the only key accepted.
# "signed" (Unix seconds) tells how fresh it is: the release host signs it again now and then
# (iotsig release refresh), and with UPDATE_MAX_AGE_S a device that sees none newer says so.
from binascii import hexlify, unhexlify
from hashlib import sha256

import iotsv_atomicfile as atomicfile
import iotsv_atomicload as atomicload
import iotsv_httpclient as httpclient
import iotsv_s3 as s3
import iotsv_utc as utc
import iotsv_versions as versions

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


MAX_MANIFEST = const(8192)  # bytes: a bundle of 40 files lists in 4 KB
MAX_RELEASE = const(999999999)  # 9 digits: a small int on the 32-bit image too
FLOOR = versions.ROOT + "/release"  # the highest release number accepted (an int state file)
REFUSED = versions.ROOT + "/refused"  # the older release last reported (its name)
POINTER = versions.ROOT + "/latest"  # the newest signed latest verified (its bytes)
STALE = versions.ROOT + "/stale"  # the signing time of the pointer last reported too old
KEY = versions.ROOT + "/key"  # the release key adopted from a release: "<64 hex>\n"
NEXT_KEY = versions.ROOT + "/nextkey"  # one waiting for its release's probation: "<version> <64 hex>\n"
POINTER_MAGIC = "iot-sigv4 latest 1"
MAX_POINTER = const(512)
MAGIC = "iot-sigv4 release 1"
NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ._-"


class Refused(Exception):
    """A release that is not installed (its line says why)."""


def _name(value, what):
    if not 1 <= len(value) <= 64 or any(c not in NAME_CHARS for c in value) or value[0] == ".":
        raise Refused("%s %r is not a plain name" % (what, value[:64]))
    return value


SIG_LINE = const(8 + 128 + 1)  # "ed25519 " + the signature in hex + "\n"


def _pieces(f, n, size=512):
    while n > 0:
        piece = f.read(min(size, n))
        if not piece:
            return
        n -= len(piece)
        yield piece


def _verify(public_key, pieces, signature_hex, what):
    """Refused unless the pieces are signed by public_key (Ed25519, loaded for it and dropped);
    public_key: (bytes, its name for a person)."""
    import sys

    import iotsv_ed25519 as ed25519

    try:
        signature = unhexlify(signature_hex)
    except ValueError:
        signature = b""
    good = ed25519.verify_pieces(public_key[0], pieces, signature)
    sys.modules.pop("iotsv_ed25519", None)
    if not good:
        raise Refused("%s signature does not verify with %s" % (what, public_key[1]))


def parse_pointer(data, public_key=None):
    """(version, release, signed) of a signed latest; its signature checked unless public_key is
    None (the bytes of one verified before). Refused when it is not one, or not signed by the key."""
    body = len(data) - SIG_LINE
    if body <= 0 or data[body - 1 : body + 8] != b"\ned25519 " or data[-1:] != b"\n":
        raise Refused("latest is not signed (no ed25519 line at its end)")
    if public_key is not None:
        _verify(public_key, (data[:body],), data[body + 8 : -1], "latest's")
    try:
        lines = data[:body].decode().split("\n")
    except UnicodeError:
        lines = [""]
    fields = {}
    for line in lines[1:-1]:
        key, _, value = line.partition(" ")
        fields[key] = value
    if lines[0] != POINTER_MAGIC or len(fields) != 3:
        raise Refused("latest is not a signed pointer (%r)" % lines[0][:40])
    version = _name(fields.get("version", ""), "latest's version")
    number, signed = fields.get("release", ""), fields.get("signed", "")
    if not (number.isdigit() and len(number) <= 9 and signed.isdigit() and len(signed) <= 12):
        raise Refused("latest's release or signing time is not a number")
    return version, int(number), int(signed)


def parse_manifest(path, public_key):
    """(version, release, kind, number of files, length of the signed text, next key or None) of
    the signed manifest in the file at path, read a piece and a line at a time (manifest_files
    then lists the files from it again: a release's list is never held in memory); Refused when
    its signature does not verify with public_key ((bytes, name)) or its text is not a manifest."""
    import os

    size = os.stat(path)[6]
    body = size - SIG_LINE
    with open(path, "rb") as f:
        tail = b""
        if body > 0:
            f.seek(body - 1)
            tail = f.read()
        if body <= 0 or tail[:9] != b"\ned25519 " or tail[-1:] != b"\n":
            raise Refused("the manifest is not signed (no ed25519 line at its end)")
        signature = tail[9:-1]
        del tail
        f.seek(0)
        _verify(public_key, _pieces(f, body), signature, "the manifest's")
        f.seek(0)
        version, number, kind, count, next_key = None, None, None, 0, None
        for entry in _lines(f, body):
            if entry[0] == "version":
                version = entry[1]
            elif entry[0] == "next-key":
                next_key = entry[1]
            elif entry[0] == "release":
                number = entry[1]
            elif entry[0] == "kind":
                kind = entry[1]
            else:
                count += 1
    if version is None or kind not in ("files", "image") or not count:
        raise Refused("the manifest names no version, kind or file")
    if number is None:  # signed before releases were numbered: nothing tells it from an older one
        raise Refused("the manifest carries no release number")
    return version, number, kind, count, body, next_key


def _is_key(text):
    return len(text) == 64 and all(ch in "0123456789abcdef" for ch in text)


def release_key(s):
    """(the key releases must be signed by, its name): the one adopted from a release, else
    UPDATE_PUBLIC_KEY. A torn or garbled ota/key (never the only copy: written aside, renamed)
    falls back to the config's, which then refuses the new key's releases in one line."""
    atomicload.recover(KEY, lambda data: _key_line(data) is not None)
    adopted = _key_line(atomicload.read_bytes(KEY))
    if adopted:
        return unhexlify(adopted), "the release key adopted in " + KEY
    return s.update_key, "UPDATE_PUBLIC_KEY"


def _key_line(data):
    """The key of a complete "<64 hex>\n" (or "<version> <64 hex>\n") file, else None."""
    if not data or data[-1:] != b"\n":
        return None
    try:
        text = data[:-1].decode().split(" ")[-1]
    except UnicodeError:
        return None
    return text if _is_key(text) else None


def _adopt(u):
    """The next key of the running version into ota/key once it is good (a check runs only
    then); one of a version rolled back is dropped."""
    atomicload.recover(NEXT_KEY, lambda data: _key_line(data) is not None)  # a torn one is dropped: the
    data = atomicload.read_bytes(NEXT_KEY)  # cut came before the switch, and its release brings it again
    key = _key_line(data)
    if data is None or key is None:
        return
    version = data.decode().split(" ")[0]
    if version == u.version.version and not u.version.trial:
        atomicfile.replace(KEY, (key + "\n").encode())
        atomicfile.remove(NEXT_KEY)
        print(
            "update: %s passed probation: its release key %s... is the only one accepted from now on"
            % (version, key[:16])
        )
    elif version in versions.failed():
        atomicfile.remove(NEXT_KEY)


def manifest_files(path, body):
    """(name, size, sha256 hex) of each file the (verified) manifest at path lists."""
    with open(path, "rb") as f:
        for entry in _lines(f, body):
            if entry[0] == "file":
                yield entry[1:]


def _lines(f, body):
    first = f.readline().decode().rstrip("\n")
    if first != MAGIC:
        raise Refused("not a release manifest (%r)" % first[:40])
    while f.tell() < body:
        line = f.readline().decode().rstrip("\n")
        parts = line.split(" ")
        if parts[0] == "version" and len(parts) == 2:
            yield "version", _name(parts[1], "version")
        elif parts[0] == "release" and len(parts) == 2 and parts[1].isdigit() and len(parts[1]) <= 9:
            yield "release", int(parts[1])
        elif parts[0] == "next-key" and len(parts) == 2 and _is_key(parts[1]):
            yield "next-key", parts[1]
        elif parts[0] == "kind" and len(parts) == 2:
            yield "kind", parts[1]
        elif parts[0] == "file" and len(parts) == 4 and parts[2].isdigit() and len(parts[3]) == 64:
            yield "file", _name(parts[1], "file"), int(parts[2]), parts[3]
        elif line:
            raise Refused("manifest line not understood: %r" % line[:60])


class Check:
    """One check against the bucket (u: iotsv_updates.Updates: settings, board, version, clock,
    credentials) over the app's connection, pointed at S3 until done()."""

    def __init__(self, u, conn):
        s = u.settings
        self.u = u
        self.s = s
        conn.close()
        self.saved = (conn.host, conn.port, conn.max_response)
        conn.host, conn.port = s.update_host, s.update_port or (443 if conn.tls else 80)
        conn.max_response = 4096
        self.conn = conn

    def done(self):
        self.conn.close()
        self.conn.host, self.conn.port, self.conn.max_response = self.saved

    def key(self, *parts):
        return "/".join((self.s.UPDATE_PREFIX,) + parts)

    def get(self, key, path):
        """The object into the file at path: (size, hex SHA-256)."""
        s = self.s
        self.u.board.feed_watchdog()  # a check is several requests: each starts fed
        date = utc.amz_date(int(self.u.clock.now()))
        return s3.get_to_file(
            self.conn, self.u.credentials(), s.AWS_REGION, s.UPDATE_BUCKET, key, path, date, s.update_path_style
        )

    def small(self, key, path, limit):
        """The object into the file at path, refused over limit bytes (the file then removed)."""
        size = self.get(key, path)[0]
        if size > limit:
            atomicfile.remove(path)
            raise Refused("%s is larger than %d bytes" % (key, limit))
        return path


def check(u, conn):
    """One check (iotsv_updates.Updates.turn calls it when due) over the app's connection; the
    board's restart code after a switch, else None. Every outcome but 'nothing new' is one line."""
    c = Check(u, conn)
    try:
        try:
            upload_logs(c)
        except (s3.S3Error, httpclient.HttpError, OSError) as e:
            print("update: log upload failed (kept for the next check): %s" % describe(e))
        return _check(c)
    except (Refused, s3.S3Error, httpclient.HttpError, OSError, ValueError, MemoryError) as e:
        print("update: %s" % describe(e))  # the check never stops the readings: tried again when due
        return None
    finally:
        c.done()


def describe(e):
    if isinstance(e, (Refused, s3.S3Error)):
        return str(e)
    import iotsv_oserror as oserror

    return "%s: %s" % (type(e).__name__, oserror.describe(e) if isinstance(e, OSError) else e)


def _pointer(c):
    """(version, release) of the signed latest, verified unless its bytes are the newest verified
    before; kept when newer, and its age judged (UPDATE_MAX_AGE_S). Refused before any manifest
    is fetched when it is unsigned or names an older release."""
    import gc

    try:
        path = c.small(c.key("latest"), versions.ROOT + "/latest.tmp", MAX_POINTER)
    except (s3.S3Error, httpclient.HttpError, OSError, Refused):  # withheld (deleted, blocked): still judged
        _judge_age(c, _signed(atomicload.read_bytes(POINTER)))
        raise
    try:
        with open(path, "rb") as f:
            data = f.read()
    finally:
        atomicfile.remove(path)
    known = atomicload.read_bytes(POINTER)
    newest = _signed(known)
    if data == known:
        name, number, _ = parse_pointer(data)
    else:
        c.conn.close()  # the TLS session's buffers out of the heap while the big-int check runs
        gc.collect()
        try:
            name, number, signed = parse_pointer(data, release_key(c.s))
        except Refused as e:
            _judge_age(c, newest)
            raise Refused("latest refused: %s" % e)
        floor = _floor()
        if number < floor and name != c.u.version.version:  # what runs (after a rollback) is no news
            if name not in c.u.quiet:
                c.u.quiet.append(name)
                _refuse_old(name, number, floor)
            _judge_age(c, newest)
            return None, None
        if signed >= newest:  # an older signing of the same release is no news of freshness
            atomicfile.replace(POINTER, data)
            newest = signed
    _judge_age(c, newest)
    return name, number


def _signed(known):
    """When the pointer kept in ota/latest was signed; 0 when there is none (or it is garbled)."""
    try:
        return parse_pointer(known)[2] if known else 0
    except Refused:
        return 0


def _judge_age(c, signed):
    """With UPDATE_MAX_AGE_S: a line (printed, and into ota/report once) when the newest signed
    latest seen is older than that: someone may be holding back the pointer (the freeze attack)."""
    limit = c.s.UPDATE_MAX_AGE_S
    if limit is None:
        return
    age = int(c.u.clock.now()) - signed
    mark = ("%d" % signed).encode()
    if age <= limit or atomicload.read_bytes(STALE) == mark:
        return
    line = "latest is stale: signed %d s ago, more than UPDATE_MAX_AGE_S=%s (held back?)" % (age, limit)
    print("update: " + line)
    _report(line)
    atomicfile.replace(STALE, mark)


def _check(c):
    u, s = c.u, c.s
    atomicload.ensure_dir(versions.ROOT)
    _adopt(u)
    name, pointed = _pointer(c)
    running = u.version.version
    if name is None or name == running:
        return None
    if name in u.quiet:  # refused for good in this run (rolled back before, or an older release): said once
        return None
    if name in versions.failed():
        u.quiet.append(name)
        print("update: latest is %s, which was rolled back before: not installing it again" % name)
        return None
    path = c.small(c.key(name, "manifest"), versions.ROOT + "/manifest.tmp", MAX_MANIFEST)
    c.conn.close()  # the TLS session's buffers out of the heap while the big-int check runs
    import gc

    gc.collect()
    try:
        try:
            version, number, kind, count, body, next_key = parse_manifest(path, release_key(s))
        except Refused as e:
            raise Refused("%s refused: %s" % (name, e))
        if version != name:
            raise Refused("%s refused: its signed manifest is for %s" % (name, version))
        if number != pointed:
            raise Refused("%s refused: its manifest is release %d, latest says %d" % (name, number, pointed))
        floor = _floor()
        # Equal passes only here: name is neither running nor rolled back, so it is the release whose
        # install a cut (power, network) stopped after its number was kept (one number, one release).
        if number < floor:
            u.quiet.append(name)
            _refuse_old(name, number, floor)
            return None
        takes = u.board.update_kind()
        if kind != takes:
            raise Refused("%s refused: a release of kind %s; this board takes %s" % (name, kind, takes))
        gc.collect()  # the verification's garbage gone before the downloads' pieces come
        if number > floor:  # kept before anything is installed: a cut from here on never lowers it
            atomicfile.write_int(FLOOR, number)
        if next_key:  # before the switch: a cut after it leaves the key waiting for its version
            atomicfile.replace(NEXT_KEY, ("%s %s\n" % (name, next_key)).encode())
        else:
            atomicfile.remove(NEXT_KEY)
        if kind == "image":
            _install_image(c, name, count, manifest_files(path, body))
        else:
            _install_files(c, name, path, body)
    finally:
        atomicfile.remove(path)
    versions.write(versions.State(name, "trial", running, int(u.board.time()), kind))
    print(
        "update: %s installed (%d file(s), signature and SHA-256 checked); restarting into it on probation "
        "(%d readings within %ss)" % (name, count, s.UPDATE_PROBATION_READINGS, s.UPDATE_PROBATION_S)
    )
    return u.board.restart(versions.RESTART)


def _floor():
    """The highest release number accepted; 0 before the first (or when the file is garbled: said)."""
    floor, lost = atomicload.load_int(FLOOR, 0)
    if lost:
        print("update: %s was torn or garbled: any signed release is taken until the next install" % FLOOR)
    return floor


def _refuse_old(name, number, floor):
    """The refusal of an older release, printed and added to ota/report for the next log upload;
    ota/refused keeps the last one reported, so a device that restarts often reports it once."""
    line = "%s refused: release %d is older than release %d already installed" % (name, number, floor)
    print("update: " + line)
    if atomicload.read_bytes(REFUSED) == name.encode():
        return
    _report(line)
    atomicfile.replace(REFUSED, name.encode())


def _report(line):
    """A line into ota/report, which the next check uploads (the newest MAX_FAILED bytes kept)."""
    old = atomicload.read_bytes(versions.REPORT) or b""
    atomicfile.replace(versions.REPORT, (old + line.encode() + b"\n")[-versions.MAX_FAILED :])


def _install_files(c, name, manifest, body):
    """Each file into ota/<name>.new, checked, then the folder renamed to ota/<name> (not yet
    current: versions.write makes it so). Files a cut download left whole are kept."""
    staging = versions.ROOT + "/" + name + ".new"
    final = versions.ROOT + "/" + name
    if atomicload.exists(final):  # renamed but never made current (a cut before the switch)
        if atomicload.exists(staging):
            versions.remove_tree(final)
        else:
            import os

            os.rename(final, staging)
    atomicload.ensure_dir(staging)
    for fname, size, digest in manifest_files(manifest, body):
        path = staging + "/" + fname
        if atomicload.exists(path) and s3.file_sha256(path) == (size, digest):
            continue  # from an earlier check that was cut off later
        try:
            got = c.get(c.key(name, fname), path)
        except httpclient.HttpError as e:
            raise Refused("%s: download of %s failed (%s); trying again at the next check" % (name, fname, e))
        if got != (size, digest):
            atomicfile.remove(path)
            what = "size %d, the manifest says %d" % (got[0], size) if got[0] != size else "its SHA-256 differs"
            raise Refused("%s refused: %s does not match the signed manifest (%s)" % (name, fname, what))
    import os

    listed = [entry[0] for entry in manifest_files(manifest, body)]
    for fname in os.listdir(staging):  # nothing but what the manifest lists goes on the import path
        if fname not in listed:
            atomicfile.remove(staging + "/" + fname)
    del listed
    os.rename(staging, final)
    keep = (name, c.u.version.version, c.u.version.previous)
    for entry in os.listdir(versions.ROOT):  # older versions' and refused releases' folders: the flash is small
        folder = versions.ROOT + "/" + entry
        if entry not in keep and _is_dir(folder):
            versions.remove_tree(folder)


def _is_dir(path):
    import os

    try:
        return os.stat(path)[0] & 0o170000 == 0o040000
    except OSError:
        return False


class _ImageSink:
    """A download's pieces into the board's OTA writer, hashed as they pass."""

    def __init__(self, writer):
        self.writer = writer
        self.hash = sha256()
        self.size = 0

    def __call__(self, piece):
        self.hash.update(piece)
        self.writer.write(piece)
        self.size += len(piece)


def _install_image(c, name, count, files):
    """The one image file streamed into the next OTA partition, set to boot only when its size and
    SHA-256 match the signed manifest."""
    if count != 1:
        raise Refused("%s refused: an image release holds one file, not %d" % (name, count))
    fname, size, digest = next(files)
    s = c.s
    c.u.board.feed_watchdog()  # then the board's writer feeds it a flash block at a time
    writer = c.u.board.ota_writer(size)
    sink = _ImageSink(writer)
    date = utc.amz_date(int(c.u.clock.now()))
    target, headers = s3.signed_request(
        c.conn, c.u.credentials(), s.AWS_REGION, "GET", s.UPDATE_BUCKET, c.key(name, fname), [], s3.EMPTY_SHA256, date,
        s.update_path_style,
    )  # fmt: skip
    try:
        resp = c.conn.request("GET", target, headers, b"", sink)
    except httpclient.HttpError as e:
        raise Refused("%s: download of %s failed (%s); trying again at the next check" % (name, fname, e))
    if resp.status != 200:
        raise s3.error_from_response(resp.status, resp.body, resp.header("date"))
    if (sink.size, hexlify(sink.hash.digest()).decode()) != (size, digest):
        raise Refused("%s refused: %s does not match the signed manifest" % (name, fname))
    writer.finish()  # set to boot: ESP-IDF boots it once, and rolls back unless it is confirmed


def upload_logs(c):
    """The rollback report and the crash log to s3://UPDATE_BUCKET/UPDATE_LOG_PREFIX/DEVICE_ID/,
    each removed here only once S3 answered 200 (else kept for the next check)."""
    s = c.s
    if not s.UPDATE_LOG_PREFIX:
        return
    when = int(c.u.board.time())
    for path, name in ((versions.REPORT, "rollback"), ("crash.log", "crash")):
        if not atomicload.exists(path):
            continue
        key = "%s/%s/%s-%d.txt" % (s.UPDATE_LOG_PREFIX, s.DEVICE_ID, name, when)
        c.u.board.feed_watchdog()
        date = utc.amz_date(int(c.u.clock.now()))
        s3.put_file(
            c.conn, c.u.credentials(), s.AWS_REGION, s.UPDATE_BUCKET, key, path, date, s.update_path_style, "text/plain"
        )
        atomicfile.remove(path)
        print("update: %s uploaded to s3://%s/%s" % (path, s.UPDATE_BUCKET, key))
