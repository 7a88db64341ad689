"""Put JSON records into a DynamoDB table: one JSON object per line, from a file or stdin, converted
to items as the firmware converts readings, written with BatchWriteItem (25 at a time, the
unprocessed re-sent with backoff). Lines DynamoDB or the conversion refuses are reported with the
reason, and the rest still written. Exit 0 when every line was written, 1 when some were not.

  json2ddb.py --profile ops --region eu-west-1 --table readings records.jsonl
"""

import argparse
import json
import sys
import time

import botocore.exceptions

from . import hostclient
import tooldoc

BATCH = 25
ITEM_REFUSALS = ("ValidationException", "ItemCollectionSizeLimitExceededException")  # the item, not the call


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
            yield n, hostclient.item_of(doc), None
        except ValueError as e:
            yield n, None, str(e)


def refusal(e):
    error = e.response.get("Error", {})
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return "%s (HTTP %s): %s" % (error.get("Code"), status, error.get("Message"))


def write(client, table, batch, report, retries=8):
    """Write [(line, item)]; returns how many were written. botocore retries throttling, 5xx and
    connection errors; what it cannot overcome ends the run (a ClientError, a connection error)."""
    pending = list(batch)
    for attempt in range(retries):
        try:
            if len(pending) == 1:
                client.put_item(TableName=table, Item=pending[0][1])
                return len(batch)
            answer = client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": i}} for _, i in pending]})
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ITEM_REFUSALS:
                raise
            if len(pending) == 1:
                report(pending[0][0], refusal(e))
                return len(batch) - 1
            # one item spoils the batch: find it by writing them one at a time
            return sum(write(client, table, [one], report) for one in pending) + len(batch) - len(pending)
        left = [req["PutRequest"]["Item"] for req in answer.get("UnprocessedItems", {}).get(table, ())]
        if not left:
            return len(batch)
        left_json = set(json.dumps(item, sort_keys=True) for item in left)
        pending = [(n, item) for n, item in pending if json.dumps(item, sort_keys=True) in left_json]
        time.sleep(min(2.0, 0.05 * 2**attempt))
    for n, _ in pending:
        report(n, "still unprocessed after %d attempts (throttled)" % retries)
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
    print("%d written, %d refused" % (written, len(refused)))
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(hostclient.run(main))
