# The device: the entry point and the board picker over the app (which includes the library).
# A board's manifest includes this one and adds its own layer.
metadata(version="0.2.0", description="IoT readings to DynamoDB over SigV4: the whole device but its board layer")

include("app")

module("main.py")
module("board.py")
