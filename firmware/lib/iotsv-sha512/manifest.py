metadata(
    version="0.3.0",
    description="SHA-512 for MicroPython: hashlib's where the port has it, else in Python",
)

module("iotsv_sha512.py")
