# Device configuration: copy this folder, fill it in, and put config.py (with the CA file) on the
# board or pass the folder to `make unix CONFIG=<folder>`. Never commit real keys.
# What each field means, its default and which feature reads it: config/README.md (one table,
# generated from the code). Upper-case names are config fields (one that is not, say a
# misspelling, stops the start); name your own helpers in lower case or with a leading "_".

# The keys of a user allowed only dynamodb:BatchWriteItem and dynamodb:PutItem on the table
# (config/README.md, "Running against AWS"; a fleet uses CREDENTIALS = "iot" instead).
AWS_ACCESS_KEY = "AKIAXXXXXXXXXXXXXXXX"
AWS_SECRET_KEY = "replace-with-the-40-character-secret-access-key"
AWS_SESSION_TOKEN = None

AWS_REGION = "eu-west-1"
AWS_HOST = None
AWS_DYNAMODB_TABLE = "readings"

# For AWS: Amazon Root CA 1, in DER form:
#   openssl x509 -in AmazonRootCA1.pem -outform DER -out AmazonRootCA1.der
CA_FILE = "AmazonRootCA1.der"

DEVICE_ID = "device-1"
INTERVAL_S = 2
READINGS = 0
STATE_DIR = "state"

HTTP_TIMEOUT_S = 10
REQUEST_TIMEOUT_S = 30

# Updates over the air (firmware/README.md, "Updates over the air"): off while UPDATE_BUCKET is None.
UPDATE_BUCKET = None
UPDATE_PREFIX = "releases"
UPDATE_PUBLIC_KEY = None  # with UPDATE_BUCKET: the line `iotsig release keygen` prints
UPDATE_HOST = None
UPDATE_CHECK_S = 3600
UPDATE_PROBATION_READINGS = 10
UPDATE_PROBATION_S = 3600
UPDATE_LOG_PREFIX = None
