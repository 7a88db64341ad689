# Device configuration: copy this folder, fill it in, and put config.py (with the CA file) on the
# board or pass the folder to `make unix CONFIG=<folder>`. Never commit real keys.
# Upper-case names are config fields (one that is not, say a misspelling, stops the start); name
# your own helpers in lower case or with a leading "_".

# IAM access key of a user (or role session) allowed dynamodb:BatchWriteItem and dynamodb:PutItem
# on the table (nothing else: see config/README.md, "Running against AWS"). Every field, with its
# default: config/README.md.
AWS_ACCESS_KEY = "AKIAXXXXXXXXXXXXXXXX"
AWS_SECRET_KEY = "replace-with-the-40-character-secret-access-key"
AWS_SESSION_TOKEN = None  # or the token of temporary credentials

AWS_REGION = "eu-west-1"
AWS_HOST = None  # host[:port]; None means dynamodb.<AWS_REGION>.amazonaws.com
AWS_DYNAMODB_TABLE = "readings"  # partition key deviceId (S), sort key seq (N)

# The CA that signed AWS_HOST's certificate, in DER form. For AWS: Amazon Root CA 1
#   openssl x509 -in AmazonRootCA1.pem -outform DER -out AmazonRootCA1.der
CA_FILE = "AmazonRootCA1.der"

DEVICE_ID = "device-1"
INTERVAL_S = 2  # seconds between readings
READINGS = 0  # 0: run until stopped; N: stop after seq N (counted across restarts)
# Where the device keeps its state: the spool of readings not yet delivered (spool.dat), what was
# acknowledged (spool.ack), the clock offset learned from the server and the dead letters; a
# folder on the board's flash, relative to config.py.
STATE_DIR = "state"

HTTP_TIMEOUT_S = 10  # the longest wait for connect, the TLS handshake and each read or write
# The deadline of one whole request (connect, handshake, send, response), however slowly the server
# answers; at least HTTP_TIMEOUT_S. Default: 3 x HTTP_TIMEOUT_S.
REQUEST_TIMEOUT_S = 30

# Updates over the air (firmware/README.md, "Updates over the air"): off while UPDATE_BUCKET is None.
UPDATE_BUCKET = None  # e.g. "firmware": the bucket tools/release.py publishes to
UPDATE_PREFIX = "releases"  # <prefix>/latest and <prefix>/<version>/...
UPDATE_PUBLIC_KEY = None  # with UPDATE_BUCKET: the line `tools/release.py keygen` prints (64 hex digits)
UPDATE_HOST = None  # host[:port] of an S3-compatible server; None: <bucket>.s3.<AWS_REGION>.amazonaws.com
UPDATE_CHECK_S = 3600  # seconds between checks for a release
UPDATE_PROBATION_READINGS = 10  # a new version is kept once it has delivered this many readings
UPDATE_PROBATION_S = 3600  # ... within this many seconds of the switch, else it is rolled back
UPDATE_LOG_PREFIX = None  # e.g. "logs": rollback reports and crash.log to s3://<bucket>/logs/<DEVICE_ID>/
