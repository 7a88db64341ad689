metadata(
    version="0.4.0",
    description="AWS Signature Version 4 for MicroPython: sign a request in headers, presign a URL, a prepared signer",
)

require("iotsv-core")
require("iotsv-transient")

module("iotsv_sigv4base.py")
module("iotsv_sigv4.py")
module("iotsv_sigv4presign.py")
module("iotsv_sigv4signer.py")
