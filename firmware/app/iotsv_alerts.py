# Alert rules on readings: a value crossing a threshold makes an alert, queued on flash in its own
# spool (STATE_DIR/alerts) and published to SNS ahead of the readings' backlog. A rule fires once
# per crossing: it re-arms only when the value is back past the threshold by the hysteresis, and
# two of its alerts are at least its least interval apart. Its state survives restarts, so a power
# cut while a value stays over the line sends no second alert.
import iotsv_atomicfile as atomicfile
import iotsv_numtext as numtext
from iotsv_transient import hold

COMPARISONS = (">", ">=", "<", "<=")
DEFAULT_HYSTERESIS = 0
DEFAULT_INTERVAL_S = 600
WORDS = {">": "above", ">=": "at or above", "<": "below", "<=": "at or below"}


def rule_problem(rule):
    """None when `rule` is (field, comparison, threshold[, hysteresis[, least interval s]]), else
    what is wrong with it, in words."""
    if not isinstance(rule, (tuple, list)) or not 3 <= len(rule) <= 5:
        return "must be (field, comparison, threshold[, hysteresis[, least_interval_s]]), got %r" % (rule,)
    field, op = rule[0], rule[1]
    if not isinstance(field, str) or not field or field in ("deviceId", "seq", "ts", "dropped"):
        return "the field must be the name of a sensor value, got %r" % (field,)
    if op not in COMPARISONS:
        return "the comparison must be %s, got %r" % (", ".join(repr(c) for c in COMPARISONS), op)
    for i, what in ((2, "threshold"), (3, "hysteresis"), (4, "least interval")):
        if i < len(rule):
            v = rule[i]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
                return "the %s must be a number, got %r" % (what, v)
            if i > 2 and v < 0:
                return "the %s must be at least 0, got %r" % (what, v)
    return None


def topic_region(arn):
    """The region of arn:<partition>:sns:<region>:<account>:<name>, or None when it is not one."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[1].startswith("aws"):
        return None
    if not (len(parts[4]) == 12 and parts[4].isdigit()) or not parts[5] or not parts[3]:
        return None
    name = parts[5][:-5] if parts[5].endswith(".fifo") else parts[5]
    if not 1 <= len(name) <= 256 or any(not (c.isalpha() or c.isdigit() or c in "-_") for c in name):
        return None
    return parts[3]


class Rule:
    def __init__(self, number, spec):
        self.number = number
        self.field, self.op, self.threshold = spec[0], spec[1], spec[2]
        self.hysteresis = spec[3] if len(spec) > 3 else DEFAULT_HYSTERESIS
        self.interval_s = spec[4] if len(spec) > 4 else DEFAULT_INTERVAL_S
        self.active = False  # the value is over the line (an alert was made or held back for it)
        self.last_ts = 0  # when this rule's last alert was made (0: never)
        self.warned = False

    def crossed(self, v):
        t = self.threshold
        op = self.op
        return v > t if op == ">" else v >= t if op == ">=" else v < t if op == "<" else v <= t

    def cleared(self, v):
        """Back on the right side by the hysteresis: the rule re-arms."""
        h = self.hysteresis
        return v < self.threshold - h if self.op[0] == ">" else v > self.threshold + h


class Alerts:
    def __init__(self, specs, state_dir, delivery=None):
        """delivery: the Delivery that publishes the alerts' spool (start() makes it)."""
        load = hold("iotsv_atomicload")  # the start's only: gone with this call
        load.ensure_dir(state_dir)
        self.delivery = delivery
        self.state_dir = state_dir
        self.rules = [Rule(i + 1, spec) for i, spec in enumerate(specs)]
        for r in self.rules:
            saved, _ = load.load_int(self._path(r), -1)
            if saved >= 0:  # ts * 2 + active
                r.active, r.last_ts = bool(saved & 1), saved >> 1

    def _path(self, rule):
        return "%s/rule%d" % (self.state_dir, rule.number)

    def _save(self, rule):
        atomicfile.write_int(self._path(rule), rule.last_ts * 2 + rule.active)

    def check(self, values, ts, queue):
        """queue(alert) for each alert this reading makes ({"rule", "field", "value", "op",
        "threshold", "ts"}), before the rule's state is saved: a power cut between the two sends
        the alert again later (at least once), never loses it. Returns how many were queued."""
        made = 0
        for r in self.rules:
            v = values.get(r.field)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                if not r.warned:
                    r.warned = True
                    names = ", ".join(sorted(values)) or "none"
                    print(
                        "warning: ALERT_RULES: rule %d: this reading has no %r (it has: %s)"
                        % (r.number, r.field, names)
                    )
                continue
            if r.active:
                if r.cleared(v):
                    r.active = False
                    self._save(r)
                continue
            if not r.crossed(v):
                continue
            r.active = True
            if r.last_ts and ts - r.last_ts < r.interval_s:
                print(
                    "alert: rule %d (%s %s %s) held back: the last was %ds ago"
                    % (r.number, r.field, r.op, r.threshold, ts - r.last_ts)
                )
                self._save(r)
                continue
            queue({"rule": r.number, "field": r.field, "value": v, "op": r.op, "threshold": r.threshold, "ts": ts})
            made += 1
            r.last_ts = ts
            self._save(r)
        return made

    def take(self, values, ts):
        """Check a reading just spooled; its alerts into the alerts' spool. Returns how many."""
        return self.check(values, ts, self.queue)

    def queue(self, alert):
        """An alert into its spool (on flash before anything is sent, as a reading)."""
        d = self.delivery
        assert d is not None  # start() made it

        def make(seq, dropped):
            item = {"deviceId": d.sink.device_id, "seq": seq}
            for name in alert:
                item[name] = alert[name]
            if dropped:
                item["dropped"] = dropped
            return d.sink.encode(item)

        seq = d.spool.append(make)
        print(
            "alert: rule %d: %s %s %s (alert seq %d queued)"
            % (alert["rule"], alert["field"], alert["op"], numtext.text(alert["threshold"]), seq)
        )


def message(device_id, alert, when):
    """The short text a person reads (an SMS, an email's body); when: the time as text."""
    return "%s: %s is %s, %s %s (rule %d, %s)" % (
        device_id,
        alert["field"],
        numtext.text(alert["value"]),
        WORDS[alert["op"]],
        numtext.text(alert["threshold"]),
        alert["rule"],
        when,
    )
