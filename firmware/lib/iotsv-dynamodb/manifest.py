metadata(
    version="0.4.0",
    description="Amazon DynamoDB's JSON 1.0 protocol for MicroPython: marshalling, SigV4-signed calls, typed errors",
)

require("iotsv-core")
require("iotsv-sigv4")
require("iotsv-httpclient")

module("iotsv_numtext.py")
module("iotsv_dynamodb.py")
module("iotsv_ddbanswer.py")
module("iotsv_ddbmarshal.py")
module("iotsv_ddbnumber.py")
