# The spool's flash wear, measured with MicroPython's own littlefs (vfs.VfsLfs2 with the settings
# an ESP32 mounts it with: 4 KB blocks, 32-byte reads and programs, so files up to 128 bytes live
# inside the directory's metadata) over fake_esp32.Flash, which counts programs and block
# erases: readings appended and acknowledged as the device does it, then erases per reading
# turned into years of flash life. Run by `make flashwear` (tools/lab/flashwear.py, which records
# the table in tools/lab/RESULTS.md); MicroPython only: CPython has no littlefs.
import os
import sys

BLOCK = 4096
CYCLES = 100000  # erase cycles a NOR flash sector is rated for (ESP32 modules' SPI flash)
PARTITION_BLOCKS = 256  # a 1 MB littlefs partition
OTA_BLOCKS = 240  # ESP32_GENERIC's OTA variant: the 960 KB left after two 1.5 MB app slots
SPREAD_BLOCKS = 24  # a small flash, so that a run of SPREAD_READINGS cycles every block many times
SPREAD_READINGS = 60000
PAYLOADS = (100, 130)  # bytes: one sensor's DynamoDB item; a DHT22's two values and a longer DEVICE_ID


def measure(readings, batch, blocks=PARTITION_BLOCKS, payload=130):
    """Append `readings` readings of `payload` bytes to a spool on littlefs over a fresh flash of
    `blocks` 4 KB blocks, acknowledging every `batch` (1: delivered as they come): a dict of
    erases and programs per reading, and spread: the most erased block over the mean."""
    import vfs

    import fake_esp32
    from iotsv_spool import Spool

    flash = fake_esp32.Flash(blocks, BLOCK)
    vfs.VfsLfs2.mkfs(flash)
    mount = "/wear"  # one name for every run: the spool interns its paths, which stay in the heap
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
    lib = root + "/firmware/lib"  # its parts' folders: the library's modules are in them
    sys.path[:0] = [here, root + "/firmware/app"] + [lib + "/" + name for name in os.listdir(lib)]
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    spread_n = int(sys.argv[2]) if len(sys.argv) > 2 else SPREAD_READINGS
    print("the spool on littlefs as an ESP32 mounts it (vfs.VfsLfs2: 4 KB blocks, files up to 128 bytes inline)")
    print("assumed: %d erase cycles a block; a %d-block (%d KB) partition, and %d blocks (%d KB, the OTA variant's)"
          % (CYCLES, PARTITION_BLOCKS, PARTITION_BLOCKS * 4, OTA_BLOCKS, OTA_BLOCKS * 4))  # fmt: skip
    print("erases, programs: %d readings on a %d-block flash; worst/mean: the most erased block over the mean"
          % (n, PARTITION_BLOCKS))  # fmt: skip
    print("after %d readings on a %d-block flash (littlefs moves busy metadata every 100 erases; a longer"
          % (spread_n, SPREAD_BLOCKS))  # fmt: skip
    print("life evens out more); years = cycles x blocks / (erases a day x worst/mean)")
    print("payload | ack every | erases/reading | programs/reading | worst/mean | years at 2 s | 10 s | 60 s"
          " | 960 KB at 2 s")  # fmt: skip
    for payload in PAYLOADS:
        for batch in (1, 5, 25):
            m = measure(n, batch, payload=payload)
            spread = measure(spread_n, batch, blocks=SPREAD_BLOCKS, payload=payload)["spread"]
            life = ["%.1f" % years(m["erases"], i, spread=spread) for i in (2, 10, 60)]
            life.append("%.1f" % years(m["erases"], 2, blocks=OTA_BLOCKS, spread=spread))
            print("%7d | %9d | %14.3f | %16.2f | %10.2f | %s"
                  % (payload, batch, m["erases"], m["progs"], spread, " | ".join(life)))  # fmt: skip


if __name__ == "__main__":
    main()
