metadata(
    version="0.3.0",
    description="A module loaded for one call and dropped after it, so a board's RAM holds only what runs all the time",
)

module("iotsv_transient.py")
