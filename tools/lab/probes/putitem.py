# What the benchmark scripts share (both interpreters): the request every signing figure signs, a
# DynamoDB PutItem of one reading, and the heap a call allocates on MicroPython.
import gc

BODY = (
    b'{"TableName":"readings","Item":{"deviceId":{"S":"device-1"},"seq":{"N":"1"},"ts":{"N":"1795412909"},'
    b'"load1":{"N":"0.12"},"mem_free_kb":{"N":"24197456"},"sim_temp_c":{"N":"23.94"}}}'
)
HEADERS = [
    ("Host", "dynamodb.eu-west-1.amazonaws.com"),
    ("Content-Type", "application/x-amz-json-1.0"),
    ("X-Amz-Target", "DynamoDB_20120810.PutItem"),
]
KEY_ID, SECRET, DATE = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20261123T054101Z"


def heap_used(fn):
    """Bytes of heap fn() allocates, with the collector off around it (MicroPython)."""
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    fn()
    used = gc.mem_alloc() - before
    gc.enable()
    return used
