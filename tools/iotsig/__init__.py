"""iotsig: the operator's command for the IoT SigV4 project (`iotsig --help` lists its verbs).

The package runs from its checkout: it converts items and signs with the firmware's own library,
validates device configs with the firmware's settings table and reads the firmware's layout
(tools/layout.py). Their folders are put on the import path here, once, for every verb (an
editable install maps only the package itself)."""

import os
import sys

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TOOLS not in sys.path:
    sys.path.append(TOOLS)

import layout  # noqa: E402

for _folder in [layout.APP] + layout.source_path("lib"):  # the app's folder and each library part's
    if _folder not in sys.path:
        sys.path.insert(0, _folder)
