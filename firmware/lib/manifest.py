# The whole library: every part, as the image freezes it. A part is a folder with its own manifest
# (its modules, require() of the parts it needs), from which its mip package.json is made (make
# package.json); a user installs one part, a build includes this file or require()s a part.
metadata(
    version="0.3.0",
    description="Every part: SigV4, an HTTP/1.1 client over TLS, DynamoDB, S3, HTTP Signatures, Ed25519",
)

# require() finds a part by its folder's name in a library's folders: this one.
add_library("iot-sigv4", ".")

require("iotsv-transient")
require("iotsv-core")
require("iotsv-sigv4")
require("iotsv-httpclient")
require("iotsv-dynamodb")
require("iotsv-s3")
require("iotsv-httpsign")
require("iotsv-httpverify")
require("iotsv-sha512")
require("iotsv-ed25519")
