# The device clock as the firmware uses it: the board's Unix seconds plus an offset learned from
# a server that refused a request as too far off in time (AWS allows 5 minutes). The offset is
# kept in STATE_DIR, so a restarted device signs with the corrected time at once.
import iotsv_atomicfile as atomicfile
from iotsv_transient import run


class Clock:
    def __init__(self, board, state_dir):
        self.board = board
        self.path = state_dir + "/clock_offset"
        # a torn file (a write cut by power loss) means no offset: a server corrects it again
        self.offset, self.torn = run("iotsv_atomicload", "load_int", self.path, 0)

    def now(self):
        return self.board.time() + self.offset

    def correct(self, date_header):
        """Take the offset from a response's Date header; True if the clock changed."""
        server = run("iotsv_httpdate", "parse_http_date", date_header)  # a skew's only: loaded for it
        if server is None:
            return False
        offset = int(round(server - self.board.time()))
        if abs(offset - self.offset) < 2:
            return False
        self.offset = offset
        atomicfile.write_int(self.path, offset)
        return True
