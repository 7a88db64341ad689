"""Sign or verify an HTTP request with the firmware's HTTP Signatures modules (httpsign signs, as
a board does; httpverify verifies), to debug an integration before flashing a board.

  sign    prints the headers to send (or, with --curl, a ready curl command)
  verify  checks a signed request's headers; exit 0 when it verifies, 1 with the reason when not

Schemes: cavage (hmac-sha256), cybersource (HmacSHA256 profile), rfc9421 (hmac-sha256).
The secret is given in base64 (--secret-b64, or the environment variable HTTPSIG_SECRET_B64 so it
stays out of the shell history); it is never printed. --body-file - reads the body from standard
input.
"""

import os
import shlex
import sys

import iotsv_httpdate as httpdate
import iotsv_httpsign as httpsign
import iotsv_httpverify as httpverify
import iotsv_utc as utc

from . import hostclient

EXAMPLES = {
    "sign": "HTTPSIG_SECRET_B64=c2VjcmV0LXNlY3JldC1zZWNyZXQ= iotsig httpsign sign --scheme rfc9421"
    " --key-id k1 --url https://api.example.com/v1/readings --body-file reading.json --curl",
    "verify": "HTTPSIG_SECRET_B64=... iotsig httpsign verify --scheme cavage --url https://api.example.com/v1/r"
    " -H 'Date: ...' -H 'Signature: ...'",
}


class UsageError(Exception):
    """What was given cannot be used (exit 2, as a refused secret)."""


CAVAGE_DEFAULT = "(request-target) host date digest content-type"
RFC9421_DEFAULT = "@method @target-uri content-type content-digest"


def _headers(args):
    out = []
    for h in args.header or ():
        name, sep, value = h.partition(":")
        if not sep:
            raise UsageError("header %r is not 'Name: value'" % h)
        out.append((name.strip(), value.strip()))
    return out


def _has(headers, name):
    return httpsign.field_value(headers, name) is not None


def _body(args):
    if not args.body_file:
        return b""
    try:
        stream = hostclient.open_input(args.body_file)
        return stream.read()
    except OSError as e:
        raise hostclient.ToolError("--body-file: cannot read %s: %s" % (args.body_file, e.strerror))


def _secret_b64(args):
    """The secret's base64 text, checked by the firmware's own rule (httpsign.shared_secret)."""
    value = args.secret_b64 or os.environ.get("HTTPSIG_SECRET_B64")
    if not value:
        raise UsageError("give the secret with --secret-b64 or HTTPSIG_SECRET_B64")
    httpsign.shared_secret(value, "the secret")
    return value


def sign(args):
    method = args.method.upper()
    scheme, authority, path, query = httpsign.split_url(args.url)
    target = path + ("" if query is None else "?" + query)
    headers = _headers(args)
    body = _body(args)
    secret_b64 = _secret_b64(args)
    secret = httpsign.unb64(secret_b64, "the secret")
    if args.scheme == "cybersource":
        out = [h for h in headers if h[0].lower() not in ("host", "date", "digest", "signature")]
        out += httpsign.sign_cybersource(
            method,
            authority,
            target,
            body,
            args.merchant_id or "",
            args.key_id,
            secret_b64,
            date=args.date,
            legacy=args.legacy,
        )
        if not args.merchant_id:
            raise UsageError("cybersource needs --merchant-id")
    else:
        out = list(headers)
        if not _has(out, "host"):
            out.insert(0, ("Host", authority))
        if body and not _has(out, "content-type"):
            out.append(("Content-Type", "application/json"))
        if args.scheme == "cavage":
            if not _has(out, "date"):
                out.append(("Date", args.date or httpdate.http_date(utc.now())))
            if body or method in ("POST", "PUT", "PATCH"):
                out.append(("Digest", httpsign.digest(body)))
            names = [n for n in (args.names or CAVAGE_DEFAULT).split() if n.startswith("(") or _has(out, n)]
            params = httpsign.sign_cavage(method, target, out, args.key_id, secret, names, args.algorithm)
            out.append(httpsign.cavage_header(params, args.authorization))
        else:
            if body or method in ("POST", "PUT", "PATCH"):
                out.append(("Content-Digest", httpsign.content_digest(body)))
            names = [n for n in (args.names or RFC9421_DEFAULT).split() if n.startswith("@") or _has(out, n)]
            out += httpsign.sign_rfc9421(
                method,
                args.url,
                out,
                names,
                args.key_id,
                secret,
                label=args.label,
                created=args.created,
                expires=args.expires,
                nonce=args.nonce,
                tag=args.tag,
            )
    if args.curl:
        parts = ["curl", "-X", method, args.url]
        for name, value in out:
            if name.lower() != "host":
                parts += ["-H", "%s: %s" % (name, value)]
        if args.body_file:
            parts += ["--data-binary", "@" + args.body_file]
        print(" ".join(shlex.quote(p) for p in parts))
    else:
        for name, value in out:
            print("%s: %s" % (name, value))
    return 0


def verify(args):
    method = args.method.upper()
    _, _, path, query = httpsign.split_url(args.url)
    target = path + ("" if query is None else "?" + query)
    headers = _headers(args)
    body = _body(args) if args.body_file else None
    secret_b64 = _secret_b64(args)
    try:
        if args.scheme == "cybersource":
            p = httpverify.verify_cybersource(method, target, headers, secret_b64, body, max_age_s=args.max_age)
        elif args.scheme == "cavage":
            p = httpverify.verify_cavage(
                method,
                target,
                headers,
                httpsign.unb64(secret_b64, "the secret"),
                required=(args.required or "(request-target)").split(),
                max_age_s=args.max_age,
                body=body,
            )
        else:
            p = httpverify.verify_rfc9421(
                method,
                args.url,
                headers,
                httpsign.unb64(secret_b64, "the secret"),
                label=args.label,
                required=(args.required or "").split(),
                max_age_s=args.max_age,
                body=body,
            )
    except httpsign.SignatureError as e:
        print("does not verify: %s" % e)
        return 1
    shown = dict((k, v) for k, v in p.items() if k != "signature")
    print("verifies: %s" % " ".join("%s=%s" % kv for kv in sorted(shown.items(), key=lambda kv: kv[0])))
    return 0


def main(argv=None):
    parser = hostclient.parser("httpsign", __doc__, EXAMPLES["sign"])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("sign", "verify"):
        p = sub.add_parser(
            name, epilog="example:\n  " + EXAMPLES[name], formatter_class=parser.formatter_class,
            description="%s an HTTP request as a board does (--help of iotsig httpsign: the schemes)." % name.title(),
        )  # fmt: skip
        p.add_argument("--scheme", choices=("cavage", "cybersource", "rfc9421"), required=True)
        p.add_argument("--method", default="POST")
        p.add_argument("--url", required=True, help="absolute URL, e.g. https://api.example.com/v1/readings")
        p.add_argument("-H", "--header", action="append", help="'Name: value' (repeatable)")
        p.add_argument("--body-file", help="the request's body (- for standard input)")
        p.add_argument("--secret-b64")
        p.add_argument("--label", default=None if name == "verify" else "sig1")
        p.add_argument("--names", help="what to sign, space-separated (headers or derived components)")
    sign_p, verify_p = sub.choices["sign"], sub.choices["verify"]
    sign_p.add_argument("--key-id", required=True)
    sign_p.add_argument("--merchant-id")
    sign_p.add_argument("--date", help="Date header to use (default: now)")
    sign_p.add_argument("--legacy", action="store_true", help="cybersource: sign (request-target)")
    sign_p.add_argument("--algorithm", default="hmac-sha256", help="cavage: hmac-sha256 or hs2019")
    sign_p.add_argument("--authorization", action="store_true", help="cavage: Authorization: Signature ...")
    sign_p.add_argument("--created", type=int)
    sign_p.add_argument("--expires", type=int)
    sign_p.add_argument("--nonce")
    sign_p.add_argument("--tag")
    sign_p.add_argument("--curl", action="store_true", help="print a curl command instead of headers")
    verify_p.add_argument("--required", help="components or headers that must be signed, space-separated")
    verify_p.add_argument("--max-age", type=int, default=300, help="seconds (default 300)")
    args = parser.parse_args(argv)
    try:
        return sign(args) if args.command == "sign" else verify(args)
    except (httpsign.SignatureError, UsageError) as e:  # what was given cannot be used: one line, exit 2
        print("error: %s" % e, file=sys.stderr)
        return 2
