"""Put JSON records into a DynamoDB table: one JSON object per line, from a file or standard input
(-), converted to items as the firmware converts readings, every number kept digit for digit as
written. A line whose key is in the table already, or repeats an earlier line's, is refused unless
--replace; a line DynamoDB or the conversion refuses is reported with the reason on stderr, and the
rest still written. Exit 0 when every line was written, 1 when some were not.

The summary counts what the table holds afterwards: "written" are the items the run left there
(one per key), "replaced" those of them that took the place of an item already in the table. The
table's key is read with DescribeTable. New items go in TransactWriteItems of up to 100, each on
the condition that its key is not in the table (a transaction's write units count twice): DynamoDB
names the items it refused and the rest are sent again, so the outcome of every line is known.
With --replace each item is a PutItem that returns the item it replaced.
"""

import decimal
import sys
import time

import botocore.exceptions

from . import hostclient

EXAMPLE = "iotsig put-json --profile ops --region eu-west-1 --table readings records.jsonl"
ITEM_REFUSALS = ("ValidationException", "ItemCollectionSizeLimitExceededException")  # the item, not the call
KINDS = {"S": "a string", "N": "a number", "B": "binary"}  # the types a key attribute may have
TRANSACTION = 100  # items in one TransactWriteItems, DynamoDB's most
AGAIN = ("TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded")


def records(stream):
    """(line number, item or None, why not) of each non-blank line of a binary stream."""
    for n, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError as e:
            yield n, None, "not UTF-8 text (byte %d)" % (e.start + 1)
            continue
        if not line:
            continue
        try:
            doc = hostclient.json_of(line)
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


def key_schema(client, table):
    """[(name, type, role)] of the table's key attributes, the partition key first."""
    table = client.describe_table(TableName=table)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    keys = sorted(table["KeySchema"], key=lambda k: k["KeyType"] != "HASH")
    return [(k["AttributeName"], types[k["AttributeName"]], "partition" if k["KeyType"] == "HASH" else "sort")
            for k in keys]  # fmt: skip


def key_of(item, schema):
    """The item's key as DynamoDB compares it (1, 1.0 and 1e0 are one number); ValueError when a
    key attribute is missing or of another type than the table's."""
    key = []
    for name, kind, role in schema:
        value = item.get(name)
        if value is None:
            raise ValueError("no %s (the table's %s key)" % (name, role))
        ((got, v),) = value.items()
        if got != kind:
            raise ValueError("%s must be %s (the table's %s key)" % (name, KINDS[kind], role))
        key.append(decimal.Decimal(v).normalize() if kind == "N" else v)
    return tuple(key)


def key_text(item, schema):
    return " ".join("%s=%s" % (name, next(iter(item[name].values()))) for name, _, _ in schema)


def exists(item, schema):
    return "an item with %s is in the table (--replace to replace it)" % key_text(item, schema)


def refusal(e):
    error = e.response.get("Error", {})
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return "%s (HTTP %s): %s" % (error.get("Code"), status, error.get("Message"))


def condition(schema):
    return {"ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": schema[0][0]}}


def put_new(client, table, chunk, schema, retries=8):
    """Put the chunk's items [(line, item)], of distinct keys, none over an item in the table: in
    one transaction, the items DynamoDB names as refused taken out and the rest sent again.
    Returns {line: why} of the refused."""
    refused, pending = {}, list(chunk)
    for attempt in range(retries):
        if not pending:
            return refused
        puts = [{"Put": dict(condition(schema), TableName=table, Item=item)} for _, item in pending]
        try:
            client.transact_write_items(TransactItems=puts)
            return refused
        except botocore.exceptions.ClientError as e:
            code = e.response.get("Error", {}).get("Code")
            reasons = e.response.get("CancellationReasons") or []
            if code in ITEM_REFUSALS or (code == "TransactionCanceledException" and len(reasons) != len(pending)):
                refused.update(put_each(client, table, pending, schema))  # which item: one at a time
                return refused
            if code != "TransactionCanceledException":
                raise
        for (n, item), reason in zip(pending, reasons):
            why = reason.get("Code")
            if why == "ConditionalCheckFailed":
                refused[n] = exists(item, schema)
            elif why not in (None, "None") + AGAIN:
                refused[n] = "%s: %s" % (why, reason.get("Message"))
        if any(reason.get("Code") in AGAIN for reason in reasons):
            time.sleep(min(2.0, 0.05 * 2**attempt))
        pending = [(n, item) for n, item in pending if n not in refused]
    for n, _ in pending:
        refused[n] = "still refused after %d attempts (throttled, or in conflict with other writes)" % retries
    return refused


def put_each(client, table, chunk, schema):
    """The chunk's items one PutItem each, none over an item in the table; {line: why} of the refused."""
    refused = {}
    for n, item in chunk:
        try:
            client.put_item(TableName=table, Item=item, **condition(schema))
        except botocore.exceptions.ClientError as e:
            code = e.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                refused[n] = exists(item, schema)
            elif code in ITEM_REFUSALS:
                refused[n] = refusal(e)
            else:
                raise
    return refused


def main(argv=None):
    parser = hostclient.parser("put-json", __doc__, EXAMPLE)
    parser.add_argument("file", nargs="?", default="-", help="JSON lines; - (the default) for standard input")
    parser.add_argument("--table", required=True)
    parser.add_argument("--replace", action="store_true", help="replace an item with the same key (default: refuse)")
    hostclient.add_connection_args(parser)
    hostclient.add_output_arg(parser)
    args = parser.parse_args(argv)
    stream = hostclient.open_input(args.file)
    client = hostclient.client_from_args(args)
    schema = key_schema(client, args.table)
    run = Run(client, args.table, schema)
    for n, item, why in records(stream):
        if item is None:
            run.refuse(n, why)
            continue
        try:
            key = key_of(item, schema)
        except ValueError as e:
            run.refuse(n, str(e))
            continue
        if args.replace:
            run.replace(n, item, key)
        elif key in run.claimed:
            run.refuse(
                n, "%s repeats line %d's key (--replace to replace it)" % (key_text(item, schema), run.claimed[key])
            )
        else:
            run.add(n, item, key)
    run.flush()
    written = len(run.claimed) - len(run.refused_new)
    text = "%d written, %d refused" % (written, len(run.refused))
    if args.replace:
        text += ", %d replaced" % run.replaced
    record = {"table": args.table, "written": written, "refused": run.refused, "replaced": run.replaced}
    hostclient.show(args, record, text)
    return 1 if run.refused else 0


class Run:
    """What a run has put and refused; its notes on stderr in line order (a transaction's refusals
    are known only when it is answered, after later lines were read)."""

    def __init__(self, client, table, schema):
        self.client, self.table, self.schema = client, table, schema
        self.claimed = {}  # key -> the line that put it (or, in a pending transaction, will)
        self.chunk, self.notes, self.refused, self.refused_new, self.replaced = [], [], [], set(), 0

    def refuse(self, n, why):
        self.refused.append({"line": n, "why": why})
        self.notes.append((n, "line %d: refused: %s" % (n, why)))
        if not self.chunk:
            self.flush()

    def add(self, n, item, key):
        self.claimed[key] = n
        self.chunk.append((n, item))
        if len(self.chunk) == TRANSACTION:
            self.flush()

    def replace(self, n, item, key):
        try:
            old = self.client.put_item(TableName=self.table, Item=item, ReturnValues="ALL_OLD").get("Attributes")
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ITEM_REFUSALS:
                raise
            return self.refuse(n, refusal(e))
        if key in self.claimed:  # this line's item takes the place of an earlier line's
            note = "line %d: replaces line %d's item (%s)" % (n, self.claimed[key], key_text(item, self.schema))
            self.notes.append((n, note))
        elif old is not None:
            self.replaced += 1
        self.claimed[key] = n
        self.flush()

    def flush(self):
        """The pending transaction sent, then every note so far printed in line order."""
        if self.chunk:
            for n, why in sorted(put_new(self.client, self.table, self.chunk, self.schema).items()):
                self.refused.append({"line": n, "why": why})
                self.refused_new.add(n)
                self.notes.append((n, "line %d: refused: %s" % (n, why)))
            self.chunk = []
        self.refused.sort(key=lambda r: r["line"])
        for _, note in sorted(self.notes):
            print(note, file=sys.stderr)
        self.notes = []
