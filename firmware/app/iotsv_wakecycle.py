# A deep-sleep wake (POWER_MODE "deep_sleep"), the whole of it: iotsv_app.run loads this module
# for a sleeper only, so an always-on device's heap holds none of it. `device` is the
# iotsv_app.Device the wake made; what the board keeps between wakes is iotsv_wakestate's.
import iotsv_wakestate as wakestate


def wake_cycle(device):
    """Deep-sleep mode: each wake takes one reading into the spool; every SEND_EVERY-th wake
    (and the last) brings the network up and delivers what waits; then the board sleeps
    until the next wake's slot. A wake that finds no network puts the next tries off (2, 4,
    ... 16 sending wakes on): each costs the whole Wi-Fi wait."""
    s, board, delivery = device.settings, device.board, device.delivery
    line = wakestate.load(board)
    wake = line.wake = line.wake + 1
    seq = device.take_reading() if device.taking else None
    sends = (wake % s.SEND_EVERY == 0 or not device.taking) and wake >= line.retry_at
    # an alert made at this wake is not left for the SEND_EVERY-th: it brings the network up now
    kind = "sending" if sends or device.alerted else "reading"
    if kind == "sending" and not board.network_up():
        line.backoff(wake, s.SEND_EVERY)
        print(
            "deliver later: no network; %d reading(s) wait in the spool; next try at wake %d"
            % (delivery.queued(), line.retry_at)
        )
    elif kind == "sending":
        line.misses = line.retry_at = 0
        line.synced = board.maybe_resync(line.synced)  # NTP when due, not at every sending wake
        while device.has_sends():
            board.sleep_ms(device.wait_ms() or 0)
            device.send()
            board.feed_watchdog()
            if device.stalled():
                print(
                    "deliver later: %s; %d reading(s) wait in the spool"
                    % (delivery.stall(s.DELIVERY_TIMEOUT_S), delivery.queued())
                )
                break
        if device.updates is not None:  # on sending wakes only: the network is up
            code = device.updates.turn(delivery.delivered, device.conn, sending_wake=True)
            if code is not None:
                wakestate.save(board, wakestate.Line(wake))  # a restart follows: the spool is scanned then
                return code
    awake = board.awake_ms()
    sleep_ms, line.due = wakestate.next_sleep(line.due, board.clock_ms(), int(s.INTERVAL_S * 1000), awake)
    line.key, line.kept = s.wake_key, device.spool.kept()  # the key: the next reading wake's settings
    wakestate.save(board, line)
    took = "took seq %d" % seq if seq else "no reading"
    print(
        "wake %d (%s): %s, %d delivered, %d waiting, awake %d ms"
        % (wake, kind, took, delivery.delivered, delivery.queued(), awake)
    )
    if not device.has_work():
        print("done: all %d readings delivered" % s.READINGS)
        return 0
    board.deep_sleep(sleep_ms)  # the next wake on its slot
    return 0
