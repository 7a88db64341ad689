# The spool's flash wear, measured with MicroPython's own littlefs (vfs.VfsLfs2, the ESP32's
# filesystem) over fake_esp32.Flash, which counts programs and block erases: readings appended
# and acknowledged as the device does it, then erases per reading turned into years of flash
# life. Run by `make flashwear` (MicroPython only: CPython has no littlefs).
import os
import sys

BLOCK = 4096
CYCLES = 100000  # erase cycles a NOR flash sector is rated for (ESP32 modules' SPI flash)
PARTITION_BLOCKS = 240  # ESP32_GENERIC's OTA variant: the 960 KB left after two 1.5 MB app slots


def measure(readings, batch, blocks=64, payload=130):
    """Append `readings` readings of `payload` bytes to a spool on littlefs over a fresh flash of
    `blocks` 4 KB blocks, acknowledging every `batch` (1: delivered as they come): a dict of
    erases and programs per reading and the most erased block per reading."""
    import vfs

    import fake_esp32
    from iotsv_spool import Spool

    flash = fake_esp32.Flash(blocks, BLOCK)
    vfs.VfsLfs2.mkfs(flash)
    mount = "/wear%d" % id(flash)  # pyright: ignore[reportArgumentType]
    vfs.mount(vfs.VfsLfs2(flash), mount)  # pyright: ignore[reportAttributeAccessIssue]
    try:
        os.mkdir(mount + "/state")
        sp = Spool(mount + "/state", 64 * 1024)
        body = b"x" * payload
        start_erases, start_progs = sum(flash.erases), flash.progs
        for _ in range(readings):
            seq = sp.append(lambda s, d: body)
            if seq % batch == 0:
                sp.ack(seq)
        erases = sum(flash.erases) - start_erases
        return {
            "erases": erases / readings,
            "progs": (flash.progs - start_progs) / readings,
            "max_block": max(flash.erases) / readings,
            "spread": max(flash.erases) * blocks / max(1, sum(flash.erases)),
        }
    finally:
        vfs.umount(mount)  # pyright: ignore[reportAttributeAccessIssue]


def years(erases_per_reading, interval_s, blocks=PARTITION_BLOCKS, cycles=CYCLES, spread=1.0):
    """Flash life: every block's cycles spread over the erases (times the unevenness `spread`)."""
    per_day = erases_per_reading * 86400 / interval_s * spread
    return cycles * blocks / per_day / 365


def main():
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    root = here + "/../.."
    sys.path[:0] = [here, root + "/firmware/app", root + "/firmware/lib"]
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    print("spool on littlefs (vfs.VfsLfs2, 4 KB blocks), %d readings of 130 bytes each run" % n)
    print("assumed: %d erase cycles a block, a %d-block (%d KB) partition, wear spread by littlefs"
          % (CYCLES, PARTITION_BLOCKS, PARTITION_BLOCKS * 4))  # fmt: skip
    print("ack every | erases/reading | programs/reading | worst/mean block | years at 2 s | 10 s | 60 s | 300 s")
    for batch in (1, 5, 25):
        m = measure(n, batch)
        life = ["%.1f" % years(m["erases"], i, spread=m["spread"]) for i in (2, 10, 60, 300)]
        print("%9d | %14.3f | %16.2f | %16.1f | %s" % (batch, m["erases"], m["progs"], m["spread"], " | ".join(life)))


if __name__ == "__main__":
    main()
