# Runs on MicroPython: the seed-style client of the FT900 and integration-platform examples, a new
# TLS connection and one signed PutItem per reading, with this project's modules. Prints seconds.
import json
import sys
import time

import config
import iotsv_dynamodb as dynamodb
import iotsv_httpclient as httpclient
import iotsv_utc as utc

n = int(sys.argv[1])
with open(config.CA_FILE, "rb") as f:
    ca = f.read()
host, port = config.AWS_HOST.split(":")
creds = dynamodb.Credentials(config.AWS_ACCESS_KEY, config.AWS_SECRET_KEY)
t0 = time.ticks_ms()
for seq in range(1, n + 1):
    conn = httpclient.Connection(host, int(port), True, ca, 10)
    client = dynamodb.Client(conn, creds, config.AWS_REGION, config.AWS_HOST, utc.now)
    client.put_item(
        config.AWS_DYNAMODB_TABLE,
        {"deviceId": config.DEVICE_ID, "seq": seq, "ts": int(utc.now()), "load1": 0.12, "sim_temp_c": 21.5},
    )
    conn.close()
print(json.dumps({"seconds": time.ticks_diff(time.ticks_ms(), t0) / 1000}))
