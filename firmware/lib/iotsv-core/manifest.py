metadata(
    version="0.4.0",
    description="HMAC-SHA256 with its pads handed out, UTC calendar arithmetic and HTTP dates, for MicroPython",
)

module("iotsv_hmac_sha256.py")
module("iotsv_utc.py")
module("iotsv_httpdate.py")
