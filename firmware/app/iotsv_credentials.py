# Short-lived AWS credentials from the AWS IoT credentials provider, which hands them to a device
# that proves itself with its X.509 certificate over mutual TLS. (Static keys from the config need
# no provider: the DynamoDB client holds them, and this module is not loaded.)
import json

import iotsv_httpdate as httpdate
import iotsv_url as url
import iotsv_utc as utc
from iotsv_dynamodb import Credentials
from iotsv_refusal import Refusal

MAX_MARGIN_S = 300  # refresh this long before expiry at the most ...
MARGIN_SHARE = 4  # ... and at a quarter of the lifetime for short-lived ones
CLOCK_TOLERANCE_S = 30  # a provider Date further off than this corrects the clock


def parse_iso8601(text):
    """Unix seconds of '2026-11-23T07:41:01Z' (fractions and a +00:00 offset allowed)."""
    try:
        date, _, clock = text.strip().partition("T")
        y, m, d = (int(x) for x in date.split("-"))
        clock = clock.rstrip("Z").split("+")[0].split(".")[0]
        hh, mm, ss = (int(x) for x in clock.split(":"))
    except ValueError:
        return None
    return utc.days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss


class IotCredentials:
    """Credentials from https://<host>/role-aliases/<alias>/credentials over mutual TLS, refreshed
    before they expire and after an auth refusal (only between requests: the caller asks)."""

    def __init__(self, conn, role_alias, thing_name, clock):
        self.conn = conn
        self.path = "/role-aliases/%s/credentials" % role_alias
        self.thing_name = thing_name
        self.clock = clock
        self.current = None
        self.refresh_at = 0

    def ensure_fresh(self):
        if self.current is None or self.clock.now() >= self.refresh_at:
            self.fetch()
        return self.current

    def refused(self):
        """An auth refusal: fetch anew before the next request; True, a retry may help."""
        self.refresh_at = 0
        return True

    def fetch(self):
        headers = [("Host", url.authority(self.conn.host, self.conn.port, 443))]
        if self.thing_name:
            headers.append(("x-amzn-iot-thingname", self.thing_name))
        try:
            resp = self.conn.request("GET", self.path, headers)
        finally:
            self.conn.close()  # a request an hour: no connection kept for it
        server_time = httpdate.parse_http_date(resp.header("date"))
        if server_time is not None and abs(server_time - self.clock.now()) > CLOCK_TOLERANCE_S:
            self.clock.correct(resp.header("date"))
            print("clock: the credentials provider's Date differs; offset now %+ds" % self.clock.offset)
        if resp.status != 200:
            try:
                message = json.loads(resp.body).get("message")
            except (ValueError, AttributeError, UnicodeError):
                message = None
            message = message if isinstance(message, str) else ""
            raise Refusal("IotCredentials%d" % resp.status, message or "credentials refused", resp.status)
        try:
            doc = json.loads(resp.body)["credentials"]
            fields = [doc[k] for k in ("accessKeyId", "secretAccessKey", "sessionToken", "expiration")]
        except (ValueError, KeyError, TypeError, UnicodeError):
            fields = ()
        for f in fields:
            if not isinstance(f, str) or not f:
                fields = ()
        if not fields:
            raise Refusal(
                "IotCredentialsMalformed", "the provider's answer has no usable credentials", resp.status, True
            )
        creds = Credentials(fields[0], fields[1], fields[2])
        expires = parse_iso8601(fields[3])
        if expires is None:
            raise Refusal("IotCredentialsMalformed", "unreadable expiration", resp.status, True)
        now = self.clock.now()
        lifetime = max(0, expires - now)
        self.current = creds
        self.refresh_at = expires - min(MAX_MARGIN_S, lifetime // MARGIN_SHARE)
        print(
            "credentials: fetched from the IoT credentials provider (key %s, valid %ds)" % (creds.access_key, lifetime)
        )
        return creds
