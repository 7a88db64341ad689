# The device's job: settings, the spool, delivery with retries, the clock, credentials, the HTTP
# sink, the crash supervisor and the sensor interface drivers implement. Builds on the library;
# reaches a board only through the board picker (board.py).

include("../lib")

module("app.py")
module("settings.py")
module("spool.py")
module("atomicfile.py")
module("delivery.py")
module("deadletter.py")
module("retry.py")
module("clock.py")
module("credentials.py")
module("httpsink.py")
module("supervisor.py")
module("wakestate.py")
module("versions.py")
module("updater.py")
module("sensors.py")
