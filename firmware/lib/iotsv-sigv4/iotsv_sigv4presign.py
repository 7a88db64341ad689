# Presigned URLs (query-string signing): the same canonical request, string to sign and signature
# as iotsv_sigv4's, with the credential, date, lifetime and signed header names in the query
# instead of headers. Read through iotsv_sigv4 (sigv4.presign), which loads this module when asked
# and hands it its own steps (the first argument, `sigv4`): importing them here would make each
# module need the other.
try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"  # S3's payload line of a presigned URL: the body is not known
MAX_EXPIRES_S = const(604800)  # 7 days: the longest a SigV4 presigned URL may live


def _query_param(sigv4, name, value):
    return name + "=" + sigv4.uri_encode(value.encode()).decode()


def presign_canonical(
    sigv4,
    method,
    path,
    query,
    headers,
    access_key,
    region,
    service,
    amz_date,
    expires_s,
    session_token=None,
    s3=False,
    payload_hash=UNSIGNED_PAYLOAD,
    sign_token=True,
):
    """The steps of presign() before the key: (canonical request lines, credential scope, the
    target as sent without its X-Amz-Signature). sigv4: the module iotsv_sigv4, whose steps these
    are (sigv4.presign_canonical passes it)."""
    sigv4.check_amz_date(amz_date)
    if not isinstance(expires_s, int) or isinstance(expires_s, bool) or not 1 <= expires_s <= MAX_EXPIRES_S:
        raise ValueError("expires_s must be 1 to %d seconds (7 days), got %r" % (MAX_EXPIRES_S, expires_s))
    for name, _ in headers:
        if name.lower() == "host":
            break
    else:
        raise ValueError("a presigned request needs its Host header among the headers")
    if isinstance(payload_hash, str):
        payload_hash = payload_hash.encode()
    lines = sigv4.canonical_request_lines(method, path, "", headers, payload_hash, s3)
    scope = sigv4.credential_scope(amz_date, region, service)
    auth = "&".join(
        (
            _query_param(sigv4, "X-Amz-Algorithm", sigv4.ALGORITHM),
            _query_param(sigv4, "X-Amz-Credential", access_key + "/" + scope),
            _query_param(sigv4, "X-Amz-Date", amz_date),
            _query_param(sigv4, "X-Amz-SignedHeaders", lines[4].decode()),
            _query_param(sigv4, "X-Amz-Expires", str(expires_s)),
        )
    )
    if query:
        auth = query + "&" + auth
    token = "&" + _query_param(sigv4, "X-Amz-Security-Token", session_token) if session_token else ""
    lines = lines[:2] + (sigv4.canonical_query(auth + token if sign_token else auth),) + lines[3:]
    return lines, scope, path + "?" + auth + token


def presign(
    sigv4,
    method,
    path,
    query,
    headers,
    access_key,
    secret_key,
    region,
    service,
    amz_date,
    expires_s,
    session_token=None,
    s3=False,
    payload_hash=UNSIGNED_PAYLOAD,
    sign_token=True,
):
    """A presigned request target, `path?query&X-Amz-...&X-Amz-Signature=...`: the query given,
    then X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders, X-Amz-Expires
    (1 s to 7 days), X-Amz-Security-Token with a token and X-Amz-Signature, in the order of AWS's
    test suite. `headers` (Host at least) are signed and must be sent with the URL; payload_hash
    is the last line of the canonical request: UNSIGNED-PAYLOAD as S3 takes it, or the body's hex
    SHA-256. sign_token=False appends the token unsigned (as AWS IoT's WebSocket URLs want)."""
    lines, scope, target = presign_canonical(
        sigv4,
        method,
        path,
        query,
        headers,
        access_key,
        region,
        service,
        amz_date,
        expires_s,
        session_token,
        s3,
        payload_hash,
        sign_token,
    )
    sts = sigv4.string_to_sign(amz_date, scope, sigv4.canonical_request_hash(lines))
    return (
        target
        + "&X-Amz-Signature="
        + sigv4.signature(sigv4.signing_key(secret_key, amz_date[:8], region, service), sts)
    )
