# Reading the two AWS SigV4 test suites in ../shared/vectors into signing cases.
import json
import os

from portable import is_dir, read_bytes, read_text, vectors_dir

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
SERVICE = "service"
AMZ_DATE = "20150830T123600Z"


def parse_request(raw):
    """(method, path, query, headers, body) of a raw test request: bare \\n line ends, a line
    that begins with whitespace continues the previous header's value, names may repeat."""
    head, sep, body = raw.partition(b"\n\n")
    lines = head.decode().split("\n")
    request_line = lines[0]
    method = request_line[: request_line.find(" ")]
    target = request_line[len(method) + 1 : request_line.rfind(" ")]
    path, _, query = target.partition("?")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + "\n" + line)
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return method, path, query, headers, body


def _case_dirs(root):
    out = []
    for name in sorted(os.listdir(root)):
        path = root + "/" + name
        if is_dir(path):
            out.append(path)
    return out


def _has_header(headers, lname):
    return any(n.lower() == lname for n, _ in headers)


def legacy_cases():
    """Cases of aws-sigv4-testsuite, nested folders included: (name, folder)."""
    root = vectors_dir() + "/aws-sigv4-testsuite"
    cases = []
    pending = _case_dirs(root)
    while pending:
        folder = pending.pop(0)
        name = folder[folder.rfind("/") + 1 :]
        try:
            os.stat(folder + "/" + name + ".req")
            cases.append((folder[len(root) + 1 :], folder))
        except OSError:
            pending.extend(_case_dirs(folder))
    return cases


def legacy_case(folder):
    name = folder[folder.rfind("/") + 1 :]
    base = folder + "/" + name
    request = parse_request(read_bytes(base + ".req"))
    creq = read_text(base + ".creq")
    # The suite gives a token to sign only in the signed request (.sreq); it is signed where the
    # canonical request lists it and the raw request lacks it (post-sts-header-after adds it
    # after signing, unsigned; post-sts-header-before carries it in the raw request).
    token = None
    if "x-amz-security-token" in creq and not _has_header(request[3], "x-amz-security-token"):
        sreq = parse_request(read_bytes(base + ".sreq"))
        token = [v for n, v in sreq[3] if n.lower() == "x-amz-security-token"][0]
    return {
        "request": request,
        "creq": creq,
        "sts": read_text(base + ".sts"),
        "authz": read_text(base + ".authz").strip(),
        "token": token,
        "normalize": True,
        "sign_body": False,
    }


def crt_cases():
    root = vectors_dir() + "/aws-c-auth-v4"
    return [(f[len(root) + 1 :], f) for f in _case_dirs(root)]


def crt_case(folder):
    ctx = json.loads(read_text(folder + "/context.json"))
    signed = read_text(folder + "/header-signed-request.txt")
    authz = [ln for ln in signed.split("\n") if ln.startswith("Authorization:")][0]
    token = ctx["credentials"].get("token")
    return {
        "request": parse_request(read_bytes(folder + "/request.txt")),
        "creq": read_text(folder + "/header-canonical-request.txt"),
        "sts": read_text(folder + "/header-string-to-sign.txt"),
        "authz": authz[len("Authorization:") :].strip(),
        "signature": read_text(folder + "/header-signature.txt").strip(),
        "token": None if ctx.get("omit_session_token") else token,
        "normalize": ctx["normalize"],
        "sign_body": ctx["sign_body"],
    }


def crt_query_case(folder):
    """A case of aws-c-auth-v4 for query signing (presigned URLs): the request, its query-*
    files, and the target of the signed request line."""
    ctx = json.loads(read_text(folder + "/context.json"))
    line = read_text(folder + "/query-signed-request.txt").split("\n", 1)[0]
    return {
        "request": parse_request(read_bytes(folder + "/request.txt")),
        "creq": read_text(folder + "/query-canonical-request.txt"),
        "sts": read_text(folder + "/query-string-to-sign.txt"),
        "signature": read_text(folder + "/query-signature.txt").strip(),
        "target": line[line.find(" ") + 1 : line.rfind(" ")],
        "token": ctx["credentials"].get("token"),
        "sign_token": not ctx.get("omit_session_token"),
        "expires_s": ctx["expiration_in_seconds"],
        "normalize": ctx["normalize"],
    }
