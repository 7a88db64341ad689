metadata(
    version="0.3.0",
    description="HTTP Signatures, verifying (draft-cavage, CyberSource, RFC 9421), with an RFC 8941 parser",
)

require("iotsv-core")
require("iotsv-httpsign")

module("iotsv_structparse.py")
module("iotsv_httpverify.py")
