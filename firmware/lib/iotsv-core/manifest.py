metadata(
    version="0.3.0",
    description="HMAC-SHA256 with its pads handed out, and UTC calendar arithmetic (no datetime), for MicroPython",
)

module("iotsv_hmac_sha256.py")
module("iotsv_utc.py")
