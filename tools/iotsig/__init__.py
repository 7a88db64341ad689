"""iotsig: the operator's command for the IoT SigV4 project (`iotsig --help` lists its verbs).

The package runs from its checkout: it converts items and signs with the firmware's own library and
reads the firmware's layout (tools/layout.py), so tools/ is put on the import path here, once, for
every verb (an editable install maps only the package itself)."""

import os
import sys

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TOOLS not in sys.path:
    sys.path.append(TOOLS)
