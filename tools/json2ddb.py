"""Put JSON records into a DynamoDB table, signed with the firmware's SigV4 code: one JSON object per
line, from a file or stdin, converted to items, written with BatchWriteItem (25 at a time, the
unprocessed re-sent with backoff). Lines DynamoDB or the conversion refuses are reported with the
reason, and the rest still written. Exit 0 when every line was written, 1 when some were not.

  AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... json2ddb.py --table readings records.jsonl
"""

import argparse
import json
import sys
import time

import hostclient
import tooldoc
from hostclient import dynamodb, httpclient

BATCH = 25


def records(stream):
    """(line number, item or None, why not) of each non-blank line."""
    for n, line in enumerate(stream, 1):
        line = line.strip()
        if not line:
            continue
        try:
            doc = json.loads(line)
        except ValueError as e:
            yield n, None, "not JSON: %s" % e
            continue
        if not isinstance(doc, dict):
            yield n, None, "not a JSON object"
            continue
        try:
            yield n, json.dumps(dynamodb.marshal_item(doc)).encode(), None
        except ValueError as e:
            yield n, None, str(e)


def write(client, table, batch, report, retries=8):
    """Write [(line, item)]; returns how many were written."""
    pending = list(batch)
    for attempt in range(retries):
        try:
            if len(pending) == 1:
                client.put_raw(table, pending[0][1])
                return len(batch)
            left = client.batch_write_raw(table, [item for _, item in pending])
        except dynamodb.DynamoDBError as e:
            if e.retryable:
                time.sleep(min(2.0, 0.05 * 2**attempt))
                continue
            if len(pending) == 1:
                report(pending[0][0], str(e))
                return len(batch) - 1
            # one item spoils the batch: find it by writing them one at a time
            return sum(write(client, table, [one], report) for one in pending) + len(batch) - len(pending)
        except httpclient.HttpError:
            time.sleep(min(2.0, 0.05 * 2**attempt))
            continue
        if not left:
            return len(batch)
        left_json = set(json.dumps(item, sort_keys=True) for item in left)
        pending = [(n, item) for n, item in pending if json.dumps(json.loads(item), sort_keys=True) in left_json]
        time.sleep(min(2.0, 0.05 * 2**attempt))
    for n, _ in pending:
        report(n, "still unprocessed after %d attempts" % retries)
    return len(batch) - len(pending)


def main(argv=None):
    parser = argparse.ArgumentParser(description=tooldoc.description(__doc__))
    parser.add_argument("file", nargs="?", help="JSON lines (default: stdin)")
    parser.add_argument("--table", required=True)
    hostclient.add_connection_args(parser)
    args = parser.parse_args(argv)
    client = hostclient.client_from_args(args)
    refused = []

    def report(line, why):
        refused.append(line)
        print("line %d: refused: %s" % (line, why))

    stream = open(args.file) if args.file else sys.stdin
    written = 0
    batch = []
    for n, item, why in records(stream):
        if item is None:
            report(n, why)
            continue
        batch.append((n, item))
        if len(batch) == BATCH:
            written += write(client, args.table, batch, report)
            batch = []
    if batch:
        written += write(client, args.table, batch, report)
    client.conn.close()
    print("%d written, %d refused" % (written, len(refused)))
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
