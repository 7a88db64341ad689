# Every tool's --help opens with the whole first paragraph of its docstring, never a line of it
# cut mid-sentence.
import ast
import os
import re
import subprocess
import sys

import pytest

import tooldoc
from localddb import ROOT

TOOLS = os.path.join(ROOT, "tools")
LEFT_OUT = set()
WITH_ARGPARSE = sorted(
    name
    for name in os.listdir(TOOLS)
    if name.endswith(".py") and name not in LEFT_OUT and "ArgumentParser(" in open(os.path.join(TOOLS, name)).read()
)


def test_the_helper_joins_the_first_paragraph():
    doc = "One line\nand its end.\n\nMore, not in the description.\n"
    assert tooldoc.description(doc) == "One line and its end."


@pytest.mark.parametrize("name", WITH_ARGPARSE)
def test_help_description_is_a_whole_paragraph(name):
    env = dict(os.environ, COLUMNS="1000")  # argparse wraps to the terminal: one line each here
    r = subprocess.run([sys.executable, os.path.join(TOOLS, name), "--help"], capture_output=True, text=True, env=env,
                       timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    described = r.stdout.split("\n\n")[1].strip()
    assert re.search(r"[.:]$", described), described
    with open(os.path.join(TOOLS, name)) as f:
        source = f.read()
    if "__doc__" in source.split("ArgumentParser(", 1)[1].split("\n", 1)[0]:
        assert described == tooldoc.description(ast.get_docstring(ast.parse(source), clean=False))
