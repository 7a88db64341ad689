# A small fleet back from an outage: 8 devices, a reading a second each, the network cut for 20 s,
# a table of little capacity; nothing lost or duplicated, and little throttled while it drains
# (make fleet runs 40 devices, baseline against adaptive).
import json

from fleet import fleet, plot


def test_a_small_fleet_drains_after_an_outage_losing_nothing_and_rarely_throttled(tmp_path):
    lines = []
    r = fleet(8, 50, 20, 32, str(tmp_path / "fleet"), outage_at_s=12, seed=3, out=lines.append)
    report = "\n".join(lines) + "\n" + json.dumps(dict((k, v) for k, v in r.items() if k != "series"))
    assert r["exit_codes"] == ["0"], report
    assert r["lost"] == 0 and r["duplicated"] == 0 and r["delivered"] == r["taken"] == 400, report
    assert r["backlog_after_outage"] >= 8 * 18, report  # the devices kept reading while cut off
    assert r["requests_throttled"] > 0, report  # the table did push back
    assert r["drain_throttled_share"] < 0.10, report
    assert r["drain_items_per_batch"] > 15, report  # the backlog went in batches near the 25 maximum
    png = tmp_path / "fleet.png"
    plot({"adaptive": r}, str(png))
    assert png.stat().st_size > 10000


def test_item_sizes_and_write_units_as_dynamodb_bills_them():
    from chaosproxy import item_size, write_units

    assert item_size({"deviceId": {"S": "d-1"}}) == 8 + 3
    assert item_size({"n": {"N": "123"}}) == 1 + 3  # 2 bytes for 3 significant digits, plus 1
    assert item_size({"n": {"N": "-0.0012500"}}) == 1 + 3  # leading and trailing zeros do not count
    assert item_size({"b": {"BOOL": True}, "z": {"NULL": True}}) == 4
    assert write_units({"k": {"S": "x" * 1023}}) == 1 and write_units({"k": {"S": "x" * 1024}}) == 2


def test_the_capacity_bucket_refuses_what_it_does_not_hold_and_refills():
    from chaosproxy import Capacity

    now = [0.0]
    table = Capacity(10, clock=lambda: now[0])  # 10 WCU/s: holds 25 (one full batch at least)
    assert table.take(25) and not table.take(1)
    now[0] += 0.5
    assert table.take(5) and not table.take(1)
    now[0] += 100
    assert table.take(25) and not table.take(25)
