"""Put JSON records into a DynamoDB table: one JSON object per line, from a file or standard input
(-), converted to items as the firmware converts readings, every number kept digit for digit as
written. A line whose key is in the table already, or repeats an earlier line's, is refused unless
--replace; a line DynamoDB or the conversion refuses is reported with the reason on stderr, and the
rest still written. Exit 0 when every line was written, 1 when some were not.

The summary counts what the table holds afterwards: "written" are the items the run left there
(one per key), "replaced" those of them that took the place of an item already in the table. The
table's key is read with DescribeTable; each item is a PutItem (conditional unless --replace), so
the outcome of every line is known.
"""

import decimal
import sys

import botocore.exceptions

from . import hostclient

EXAMPLE = "iotsig put-json --profile ops --region eu-west-1 --table readings records.jsonl"
ITEM_REFUSALS = ("ValidationException", "ItemCollectionSizeLimitExceededException")  # the item, not the call


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


def key_names(client, table):
    """The table's key attributes, hash key first."""
    schema = client.describe_table(TableName=table)["Table"]["KeySchema"]
    return [k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"] != "HASH")]


def key_of(item, names):
    """The item's key as DynamoDB compares it (1, 1.0 and 1e0 are one number); None when a key
    attribute is missing (DynamoDB refuses the item then)."""
    key = []
    for name in names:
        value = item.get(name)
        if value is None:
            return None
        kind, v = next(iter(value.items()))
        key.append((kind, decimal.Decimal(v).normalize() if kind == "N" else v))
    return tuple(key)


def key_text(item, names):
    return " ".join("%s=%s" % (name, next(iter(item[name].values()))) for name in names)


def refusal(e):
    error = e.response.get("Error", {})
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return "%s (HTTP %s): %s" % (error.get("Code"), status, error.get("Message"))


def put(client, table, item, names, replace):
    """PutItem: never over an existing item unless replace. Returns the item it replaced (None
    when there was none); ConditionalCheckFailedException when one exists and not replace."""
    request = {"TableName": table, "Item": item}
    if replace:
        request["ReturnValues"] = "ALL_OLD"
    else:
        request["ConditionExpression"] = "attribute_not_exists(#k)"
        request["ExpressionAttributeNames"] = {"#k": names[0]}
    return client.put_item(**request).get("Attributes")


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
    names = key_names(client, args.table)
    refused, replaced, seen = [], 0, {}  # seen: key -> the line that wrote it

    def refuse(n, why):
        refused.append({"line": n, "why": why})
        print("line %d: refused: %s" % (n, why), file=sys.stderr)

    for n, item, why in records(stream):
        if item is None:
            refuse(n, why)
            continue
        key = key_of(item, names)
        if key in seen and not args.replace:
            refuse(n, "%s repeats line %d's key (--replace to replace it)" % (key_text(item, names), seen[key]))
            continue
        try:
            old = put(client, args.table, item, names, args.replace)
        except botocore.exceptions.ClientError as e:
            code = e.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                refuse(n, "an item with %s is in the table (--replace to replace it)" % key_text(item, names))
            elif code in ITEM_REFUSALS:
                refuse(n, refusal(e))
            else:
                raise
            continue
        if key in seen:  # with --replace: this line's item takes the place of an earlier line's
            print("line %d: replaces line %d's item (%s)" % (n, seen[key], key_text(item, names)),
                  file=sys.stderr)  # fmt: skip
        elif old is not None:
            replaced += 1
        seen[key] = n
    written = len(seen)
    text = "%d written, %d refused" % (written, len(refused))
    if args.replace:
        text += ", %d replaced" % replaced
    record = {"table": args.table, "written": written, "refused": refused, "replaced": replaced}
    hostclient.show(args, record, text)
    return 1 if refused else 0
