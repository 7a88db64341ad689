# Alerts from the firmware on the unix port through moto's SNS (signatures checked) into an SQS
# queue subscribed to the topic, read back and counted: queued on flash through an outage and a
# SIGKILL (a power cut for the process), sent once the topic is reachable, none lost.
import json
import os
import time

import pytest

import unixport
from local.localddb import LocalDynamoDB, free_port

# three rules every reading of the unix port crosses at once (its real /proc values): three alerts
RULES = (("mem_free_kb", ">", 0, 0, 0), ("load1", ">=", 0, 0, 0), ("mem_free_kb", "<", 1e12, 0, 0))


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = LocalDynamoDB(str(tmp_path_factory.mktemp("alerts"))).start()
    made = {}

    def topic_and_queue(srv, iam):
        sns, sqs = srv.client("sns"), srv.client("sqs")
        made["topic"] = sns.create_topic(Name="alerts")["TopicArn"]
        made["queue"] = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=made["queue"], AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=made["topic"], Protocol="sqs", Endpoint=queue_arn["QueueArn"])
        fifo = {"FifoTopic": "true"}
        made["fifo_topic"] = sns.create_topic(Name="alerts.fifo", Attributes=fifo)["TopicArn"]
        queue = sqs.create_queue(QueueName="alerts-inbox.fifo", Attributes={"FifoQueue": "true"})
        made["fifo_queue"] = queue["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=made["fifo_queue"], AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=made["fifo_topic"], Protocol="sqs", Endpoint=queue_arn["QueueArn"])
        made["reader"] = srv._user(iam, "alert-reader", ["sqs:ReceiveMessage", "sqs:DeleteMessage"])

    server.provision(device_actions=["sns:Publish"], before_auth=topic_and_queue)
    server.made = made
    yield server
    server.stop()


def received(moto, want, timeout_s=20, queue="queue"):
    """The notifications in the queue (SNS's JSON envelopes), read until `want` or the timeout."""
    sqs, url = moto.client("sqs", moto.made["reader"]), moto.made[queue]
    out, deadline = [], time.time() + timeout_s
    while len(out) < want and time.time() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in got.get("Messages", []):
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    time.sleep(1)  # anything more would come now: counted, so a duplicate fails the test
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return out + [json.loads(m["Body"]) for m in got.get("Messages", [])]


def write(moto, folder, alert_host, readings):
    extra = "ALERT_TOPIC_ARN = %r\nALERT_RULES = %r\nALERT_HOST = %r\nDELIVERY_TIMEOUT_S = 3\n" % (
        moto.made["topic"],
        RULES,
        alert_host,
    )
    moto.write_config(folder, device_id="freezer-1", readings=readings, interval_s=0.2, extra=extra)


def test_alerts_survive_an_outage_and_a_kill_and_arrive_once(moto, tmp_path):
    folder = str(tmp_path)
    dead = "localhost:%d" % free_port()  # nothing listens: SNS is out of reach
    write(moto, folder, dead, 0)
    with open(os.path.join(folder, "run1.log"), "w+") as log:
        proc = unixport.start_firmware(folder, log)
        try:
            deadline = time.time() + 30
            while time.time() < deadline:
                log.seek(0)
                text = log.read()
                if text.count("alert: rule") >= 3 and "retry: " in text:
                    break
                time.sleep(0.2)
        finally:
            proc.kill()  # SIGKILL: no clean-up, as a power cut
            proc.wait()
        log.seek(0)
        first = log.read()
    assert first.count("queued)") == 3, first
    assert "cannot connect" in first, first
    assert received(moto, 0, timeout_s=1) == []

    write(moto, folder, "localhost:%d" % moto.port, 3)  # SNS back
    result = unixport.run_firmware(folder, timeout=90)
    out = result.stdout
    assert result.returncode == 0, out
    assert "3 alert(s) published" in out, out
    assert "alert: rule" not in out, out  # the rules' state survived the kill: no new alerts
    notes = received(moto, 3)
    assert len(notes) == 3, notes
    texts = sorted(n["Message"] for n in notes)
    assert all(t.startswith("freezer-1: ") and "(rule " in t and " UTC)" in t for t in texts), texts
    rules = sorted(int(n["MessageAttributes"]["rule"]["Value"]) for n in notes)
    assert rules == [1, 2, 3], notes
    assert {n["MessageAttributes"]["deviceId"]["Value"] for n in notes} == {"freezer-1"}
    assert all(n["Subject"].startswith("Alert: freezer-1 ") for n in notes), notes
    # sent ahead of the readings' backlog: every alert before the first reading of this run
    assert 0 <= out.find("alert rule=3 ") < out.find(" mem_free_kb="), out


def test_a_wrong_secret_blocks_alerts_without_losing_them(moto, tmp_path):
    folder = str(tmp_path)
    write(moto, folder, "localhost:%d" % moto.port, 1)
    path = os.path.join(folder, "config.py")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace(repr(moto.device_key[1]), repr("not-the-secret-of-this-key-at-all-000000")))
    result = unixport.run_firmware(folder, timeout=60)
    assert result.returncode == 1, result.stdout
    assert "blocked: " in result.stdout and "alert(s)" not in result.stdout.split("blocked: ")[0], result.stdout
    assert received(moto, 0, timeout_s=1) == []
    write(moto, folder, "localhost:%d" % moto.port, 1)
    result = unixport.run_firmware(folder, timeout=60)
    assert result.returncode == 0, result.stdout
    assert len(received(moto, 3)) == 3


@pytest.mark.parametrize(
    "extra, line",
    [
        (
            "ALERT_TOPIC_ARN = 'arn:aws:sns:us-east-1:1234:alerts'\nALERT_RULES = (('load1', '>', 1),)\n",
            "config error: ALERT_TOPIC_ARN: must be an SNS topic ARN like "
            "'arn:aws:sns:eu-west-1:123456789012:alerts', got 'arn:aws:sns:us-east-1:1234:alerts'",
        ),
        (
            "ALERT_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:alerts'\nALERT_RULES = (('load1', '=>', 1),)\n",
            "config error: ALERT_RULES: rule 1: the comparison must be '>', '>=', '<', '<=', got '=>'",
        ),
        (
            "ALERT_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:alerts'\nALERT_RULES = (('', '>', 1),)\n",
            "config error: ALERT_RULES: rule 1: the field must be the name of a sensor value, got ''",
        ),
    ],
)
def test_a_wrong_alert_config_is_one_line_naming_the_field(moto, tmp_path, extra, line):
    moto.write_config(str(tmp_path), extra=extra)
    result = unixport.run_firmware(str(tmp_path), timeout=60)
    assert result.returncode == 2 and result.stdout.strip() == line, result.stdout


def test_a_deep_sleeper_sends_an_alert_at_the_wake_that_made_it(moto, tmp_path):
    folder = str(tmp_path)
    extra = (
        'POWER_MODE = "deep_sleep"\nSEND_EVERY = 5\nDELIVERY_TIMEOUT_S = 10\nALERT_TOPIC_ARN = %r\n'
        "ALERT_RULES = (('load1', '>=', 0),)\nALERT_HOST = %r\n" % (moto.made["topic"], "localhost:%d" % moto.port)
    )
    moto.write_config(folder, device_id="sleepy-1", readings=3, interval_s=60, extra=extra)
    first = unixport.run_firmware(folder, timeout=60)
    assert first.returncode == 0 and "wake 1 (sending)" in first.stdout, first.stdout
    assert len(received(moto, 1)) == 1
    second = unixport.run_firmware(folder, timeout=60)  # still over the line: no alert, no network
    assert second.returncode == 0 and "wake 2 (reading)" in second.stdout, second.stdout
    assert received(moto, 0, timeout_s=1) == []


def test_a_fifo_topic_takes_the_group_and_drops_an_alert_sent_again(moto, tmp_path):
    folder = str(tmp_path)
    extra = "ALERT_TOPIC_ARN = %r\nALERT_RULES = (('load1', '>=', 0),)\nALERT_HOST = %r\n" % (
        moto.made["fifo_topic"],
        "localhost:%d" % moto.port,
    )
    moto.write_config(folder, device_id="fifo-1", readings=1, interval_s=0, extra=extra)
    result = unixport.run_firmware(folder, timeout=60)
    assert result.returncode == 0 and "1 alert(s) published" in result.stdout, result.stdout
    # the acknowledgement lost (a power cut at the wrong moment): the same alert is sent again
    os.remove(os.path.join(folder, "state", "alerts", "spool.ack"))
    moto.write_config(folder, device_id="fifo-1", readings=2, interval_s=0, extra=extra)
    result = unixport.run_firmware(folder, timeout=60)
    assert result.returncode == 0 and "1 alert(s) published" in result.stdout, result.stdout
    notes = received(moto, 1, queue="fifo_queue")
    assert len(notes) == 1, notes  # SNS dropped the copy by its deduplication id
    assert notes[0]["Message"].startswith("fifo-1: load1 is "), notes
