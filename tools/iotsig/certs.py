"""A local certificate authority and server certificates, made with the openssl command.

The firmware loads CA certificates in DER form only (MicroPython's ssl takes no PEM), so every CA
is written both as PEM (for CPython, boto3 and servers) and as DER (for the board). A folder that
holds a CA keeps it (boards trust it): run again with more --host values, and the server
certificate is made anew for the hosts it had and the new ones, signed by the same CA; --replace
makes a new CA. Files are made beside the folder and moved in only when all are made.
"""

import ipaddress
import os
import re
import shutil
import subprocess

from . import hostclient

EXAMPLE = "iotsig certs .local/pki --host localhost --host 127.0.0.1 --host sensors.lan"
CA_FILES = ("ca.pem", "ca.der", "ca.key")
DEFAULT_HOSTS = ("localhost", "127.0.0.1")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.I)


def _openssl(*args):
    try:
        subprocess.run(("openssl",) + args, check=True, capture_output=True)
    except subprocess.CalledProcessError as e:
        said = e.stderr.decode(errors="replace").strip().splitlines()
        raise hostclient.ToolError("openssl %s failed: %s" % (args[0], said[-1] if said else "exit %d" % e.returncode))


def check_host(host):
    """host when it is a DNS name or an IP address; ToolError (usage) otherwise."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host[2:].split(".") if host.startswith("*.") else host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels) or host.replace(".", "").isdigit():
        raise hostclient.ToolError("--host: %r is neither a DNS name nor an IP address" % host, usage=True)
    return host.lower()


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def make_ca(folder, name="ca", common_name="IoT SigV4 Local Test CA"):
    """Writes <name>.pem, <name>.der and <name>.key in folder; returns the three paths."""
    os.makedirs(folder, exist_ok=True)
    key, pem, der = (os.path.join(folder, name + ext) for ext in (".key", ".pem", ".der"))
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        pem,
        "-days",
        "3650",
        "-subj",
        "/CN=" + common_name,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    _openssl("x509", "-in", pem, "-outform", "DER", "-out", der)
    return pem, der, key


def _signed_leaf(folder, name, ca_pem, ca_key, common_name, extensions):
    """A new P-256 key and a certificate for it signed by the CA; returns (cert PEM path, key PEM path)."""
    key, csr, pem, ext = (os.path.join(folder, name + e) for e in (".key", ".csr", ".pem", ".ext"))
    with open(ext, "w") as f:
        f.write(extensions)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=" + common_name)  # fmt: skip
    _openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
             "-out", pem, "-days", "825", "-extfile", ext)  # fmt: skip
    os.remove(csr)
    os.remove(ext)
    return pem, key


def make_server_cert(folder, ca_pem, ca_key, name="server", hosts=("localhost", "127.0.0.1")):
    """A server certificate for `hosts` (DNS names and IP addresses) signed by the CA; returns
    the paths of its PEM certificate and key."""
    sans = ",".join(("IP:" if _is_ip(h) else "DNS:") + h for h in hosts)
    extensions = (
        "subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n" % sans
    )
    return _signed_leaf(folder, name, ca_pem, ca_key, hosts[0], extensions)


def make_client_cert(folder, ca_pem, ca_key, name="device", common_name="device-1"):
    """A TLS client certificate signed by the CA, for mutual TLS (the AWS IoT credentials provider).
    Returns the paths of (cert PEM, cert DER, key PEM, key DER); the key in DER is PKCS#8."""
    extensions = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
    pem, key = _signed_leaf(folder, name, ca_pem, ca_key, common_name, extensions)
    der, key_der = os.path.join(folder, name + ".der"), os.path.join(folder, name + ".key.der")
    _openssl("x509", "-in", pem, "-outform", "DER", "-out", der)
    _openssl("pkey", "-in", key, "-outform", "DER", "-out", key_der)
    return pem, der, key, key_der


def server_hosts(pem):
    """The DNS names and IP addresses a server certificate (PEM file) is for, in its order."""
    from cryptography import x509

    with open(pem, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(v) for v in names.get_values_for_type(x509.DNSName) + names.get_values_for_type(x509.IPAddress)]


def main(argv=None):
    parser = hostclient.parser("certs", __doc__, EXAMPLE)
    parser.add_argument("folder")
    parser.add_argument("--host", action="append", help="server name or IP (repeatable; default localhost, 127.0.0.1)")
    parser.add_argument(
        "--replace",
        "--force",
        dest="replace",
        action="store_true",
        help="make a new CA where the folder holds one (boards that trust the old one stop trusting the server)",
    )
    args = parser.parse_args(argv)
    hosts = [check_host(h) for h in args.host or ()]
    held = [n for n in CA_FILES if os.path.exists(os.path.join(args.folder, n))]
    keep = bool(held) and not args.replace
    if keep and len(held) < len(CA_FILES):
        raise hostclient.ToolError(
            "%s holds part of a CA (%s): --replace makes a new one" % (args.folder, ", ".join(held))
        )
    old = os.path.join(args.folder, "server.pem")
    if keep and os.path.exists(old):
        hosts = server_hosts(old) + hosts
    hosts = list(dict.fromkeys(hosts or DEFAULT_HOSTS))  # each once, in order
    stage = hostclient.stage_beside(args.folder, "certs")
    try:
        if keep:
            for name in CA_FILES:
                shutil.copy(os.path.join(args.folder, name), os.path.join(stage, name))
            ca_pem, ca_key = os.path.join(stage, "ca.pem"), os.path.join(stage, "ca.key")
        else:
            ca_pem, _, ca_key = make_ca(stage)
        make_server_cert(stage, ca_pem, ca_key, hosts=hosts)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    # the key before its certificate (sorted): a server never finds a certificate without its key
    hostclient.move_in(stage, args.folder, [n for n in sorted(os.listdir(stage)) if not (keep and n in CA_FILES)])
    folder = args.folder.rstrip("/")
    print("CA: %s/ca.pem (DER for the board: %s/ca.der), %s" % (folder, folder, "kept" if keep else "new"))
    print("server: %s/server.pem, key %s/server.key, for %s" % (folder, folder, ", ".join(hosts)))
    return 0
