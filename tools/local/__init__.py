"""The local stand-ins for AWS and the test harness: what make run, the tests and iotsig local start (README.md)."""
