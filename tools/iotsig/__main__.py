import sys

from iotsig.cli import main

sys.exit(main())
