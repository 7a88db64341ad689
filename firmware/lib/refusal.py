# A server's refusal of a request, whatever the service: what a retry policy decides on.


class Refusal(Exception):
    """code (the service's error code, or HTTPnnn), message, HTTP status, and whether a retry
    could help; `date` is the response's Date header (the server's clock)."""

    def __init__(self, code, message, status, retryable=None):
        super().__init__(code, message, status)
        self.code = code
        self.message = message
        self.status = status
        if retryable is None:
            retryable = status >= 500 or status in (408, 429)
        self.retryable = retryable
        self.date = None

    def __str__(self):
        return "%s (HTTP %d): %s" % (self.code, self.status, self.message)
