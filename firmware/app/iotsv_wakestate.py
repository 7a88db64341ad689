# What a deep-sleeping board keeps from one wake to the next in RTC memory (which deep sleep
# keeps and a power cut clears; on unix a file stands in): the wake count, and the spool's state
# so a wake that only takes a reading need not scan the spool (spool.Spool's kept).


def load(board):
    """(wakes so far, the spool's kept line or None) from the board's RTC memory."""
    try:
        text = bytes(board.rtc_memory() or b"").decode()
    except (UnicodeError, ValueError):
        return 0, None
    wake, _, kept = text.partition("\n")
    try:
        return int(wake or "0"), kept or None
    except ValueError:
        return 0, None


def save(board, wake, kept=None):
    board.set_rtc_memory(("%d\n%s" % (wake, kept or "")).encode())
