metadata(
    version="0.4.0",
    description="HTTP/1.1 over verified TLS for MicroPython: keep-alive, chunked, bounded reads, deadlines",
)

require("iotsv-transient")

module("iotsv_ticks.py")
module("iotsv_oserror.py")
module("iotsv_refusal.py")
module("iotsv_httpclient.py")
module("iotsv_httprare.py")
module("iotsv_httperrors.py")
module("iotsv_httptls.py")
module("iotsv_httpconnect.py")
module("iotsv_httphost.py")
