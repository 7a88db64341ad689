"""A local certificate authority and server certificates, made with the openssl command.

The firmware loads CA certificates in DER form only (MicroPython's ssl takes no PEM), so every CA
is written both as PEM (for CPython, boto3 and servers) and as DER (for the board).
"""

import argparse
import os
import subprocess
import sys

import tooldoc


def _openssl(*args):
    subprocess.run(("openssl",) + args, check=True, capture_output=True)


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
    sans = ",".join(("IP:" if h.replace(".", "").isdigit() else "DNS:") + h for h in hosts)
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=tooldoc.description(__doc__))
    parser.add_argument("folder")
    parser.add_argument("--host", action="append", help="server name or IP (repeatable)")
    parser.add_argument("--force", action="store_true", help="replace a CA the folder holds already")
    args = parser.parse_args(argv)
    held = [n for n in ("ca.pem", "ca.der", "ca.key") if os.path.exists(os.path.join(args.folder, n))]
    if held and not args.force:
        print("error: %s holds a CA already (%s): boards trusting it would stop trusting the server;"
              " --force replaces it" % (args.folder, ", ".join(held)), file=sys.stderr)  # fmt: skip
        return 1
    ca_pem, ca_der, ca_key = make_ca(args.folder)
    pem, key = make_server_cert(args.folder, ca_pem, ca_key, hosts=args.host or ("localhost", "127.0.0.1"))
    print("CA: %s (DER for the board: %s)\nserver: %s, key %s" % (ca_pem, ca_der, pem, key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
