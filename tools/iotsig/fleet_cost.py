"""Print what a device's readings cost in DynamoDB writes per month, on demand and provisioned,
from the sizes of the firmware's own items (tools/lab/fleet.py --cost).
"""

from . import hostclient

EXAMPLE = "iotsig fleet-cost --price-write-million 0.625"


def main(argv=None):
    parser = hostclient.parser("fleet-cost", __doc__, EXAMPLE)
    parser.add_argument("--price-write-million", type=float, default=0.625, help="$ per million write request units")
    parser.add_argument("--price-wcu-hour", type=float, default=0.00065, help="$ per provisioned WCU-hour")
    parser.add_argument("--headroom", type=float, default=2.5, help="provisioned capacity / the fleet's average rate")
    args = parser.parse_args(argv)
    from lab import fleet  # the lab's (tools/lab/fleet.py): its cost table, measured on the firmware's items

    fleet.cost(args.price_write_million, args.price_wcu_hour, args.headroom)
    return 0
