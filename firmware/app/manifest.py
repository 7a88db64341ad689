# The device's job: settings, the spool, delivery with retries, the clock, credentials, the HTTP
# sinks (HTTP Signatures, SigV4), alerts to SNS, the crash supervisor and the sensor interface
# drivers implement. Builds on the library; reaches a board only through the board picker
# (iotsv_board.py).

include("../lib")

module("iotsv_app.py")
module("iotsv_appstart.py")
module("iotsv_settings.py")
module("iotsv_spool.py")
module("iotsv_spoolrare.py")
module("iotsv_spoolrecord.py")
module("iotsv_atomicfile.py")
module("iotsv_delivery.py")
module("iotsv_deliveryrare.py")
module("iotsv_deadletter.py")
module("iotsv_retry.py")
module("iotsv_ratecurve.py")
module("iotsv_retrykind.py")
module("iotsv_clock.py")
module("iotsv_credentials.py")
module("iotsv_jsonsink.py")
module("iotsv_httpsink.py")
module("iotsv_sigv4sink.py")
module("iotsv_alerts.py")
module("iotsv_snssink.py")
module("iotsv_supervisor.py")
module("iotsv_crash.py")
module("iotsv_updates.py")
module("iotsv_wakestate.py")
module("iotsv_versions.py")
module("iotsv_updater.py")
module("iotsv_sensors.py")
