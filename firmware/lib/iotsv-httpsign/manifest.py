metadata(
    version="0.3.0",
    description="HTTP Signatures for MicroPython, signing: draft-cavage, CyberSource, RFC 9421, Content-Digest",
)

require("iotsv-core")
require("iotsv-sha512")  # a "sha-512" Content-Digest only: loaded for it, never otherwise

module("iotsv_url.py")
module("iotsv_structfield.py")
module("iotsv_httpsign.py")
