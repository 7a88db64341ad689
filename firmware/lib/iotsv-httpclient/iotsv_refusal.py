# Why a request failed, whatever the service: a server's refusal (Refusal), or no complete answer
# at all (HttpError and its kinds, raised by iotsv_httpclient and its rare modules, which all
# import them from here): what a retry policy decides on.


def retryable_status(status):
    """The HTTP statuses worth a retry whatever the service says: a timeout (408), throttling
    (429) and every server error (5xx), as the AWS SDKs retry them."""
    return status >= 500 or status in (408, 429)


class Refusal(Exception):
    """code (the service's error code, or HTTPnnn), message, HTTP status, and whether a retry
    could help; `date` is the response's Date header (the server's clock), for clock-skew recovery."""

    def __init__(self, code, message, status, retryable=None, date=None):
        super().__init__(code, message, status)
        self.code = code
        self.message = message
        self.status = status
        if retryable is None:
            retryable = retryable_status(status)
        self.retryable = retryable
        self.date = date

    def __str__(self):
        return "%s (HTTP %d): %s" % (self.code, self.status, self.message)


def xml_field(text, tag):
    """The text of <tag>...</tag> in an XML error body (S3's, moto's, AWS's front ends'), or None."""
    start = "<%s>" % tag
    i = text.find(start)
    if i < 0:
        return None
    i += len(start)
    j = text.find("</%s>" % tag, i)
    return text[i:j] if j >= 0 else None


class HttpError(Exception):
    """The request did not get a complete HTTP response; the message names the cause."""

    retryable = True


class ConnectError(HttpError):
    pass


class TlsError(HttpError):
    retryable = False  # a certificate problem does not go away by trying again


class HttpTimeout(HttpError):
    pass


class ProtocolError(HttpError):
    pass


class ResponseTooLarge(ProtocolError):
    retryable = False
