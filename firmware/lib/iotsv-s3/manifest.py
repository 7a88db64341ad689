metadata(
    version="0.3.0",
    description="Amazon S3 objects to and from files for MicroPython, in 512-byte pieces, SigV4-signed",
)

require("iotsv-core")
require("iotsv-sigv4")
require("iotsv-httpclient")

module("iotsv_s3.py")
