# Every tool's --help opens with the whole first paragraph of its docstring, never a line of it
# cut mid-sentence.
import ast
import importlib
import os
import re
import subprocess
import sys

import pytest

import helpers
import tooldoc
from local.localddb import ROOT

TOOLS = os.path.join(ROOT, "tools")
LEFT_OUT = set()
WITH_ARGPARSE = sorted(
    os.path.join(folder, name)
    for folder in ("", "local", "lab")  # tools/'s scripts (the host command's verbs: below)
    for name in os.listdir(os.path.join(TOOLS, folder))
    if name.endswith(".py")
    and name not in LEFT_OUT
    and "ArgumentParser(" in open(os.path.join(TOOLS, folder, name)).read()
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


# The host command: every verb's --help opens with its docstring's first paragraph and ends with an
# example of the verb; a usage error is one line and exit 2, as the AWS CLI has them.
from iotsig import cli  # noqa: E402

SUB_VERBS = ["release keygen", "release publish", "release refresh", "httpsign sign", "httpsign verify"]


def iotsig_help(words):
    return helpers.iotsig(words + ["--help"], env=dict(os.environ, COLUMNS="1000"))


@pytest.mark.parametrize("verb", sorted(cli.VERBS))
def test_every_verb_s_help_is_its_paragraph_and_ends_with_an_example(verb):
    r = iotsig_help([verb])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: iotsig %s " % verb), r.stdout
    module = importlib.import_module("iotsig." + cli.VERBS[verb][0])
    assert r.stdout.split("\n\n")[1].strip() == tooldoc.description(module.__doc__)
    example = r.stdout.rstrip("\n").split("\n\nexample:\n")[-1]
    assert "iotsig %s " % verb in example.splitlines()[0] and "\n\n" not in example, r.stdout


@pytest.mark.parametrize("words", SUB_VERBS)
def test_every_sub_verb_s_help_ends_with_an_example(words):
    r = iotsig_help(words.split())
    assert r.returncode == 0 and r.stdout.startswith("usage: iotsig %s " % words), r.stdout + r.stderr
    assert "iotsig %s " % words in r.stdout.rstrip("\n").split("\n\nexample:\n")[-1].splitlines()[0], r.stdout


@pytest.mark.parametrize("verb", sorted(cli.VERBS))
def test_a_usage_error_is_one_line_and_exit_2(verb):
    r = helpers.iotsig([verb, "--no-such-option"])
    assert r.returncode == 2 and r.stdout == "", r.stdout + r.stderr
    assert r.stderr.startswith("error: ") and r.stderr.endswith("(see iotsig %s --help)\n" % verb), r.stderr
    assert r.stderr.count("\n") == 1, r.stderr


def test_the_command_lists_its_verbs():
    r = helpers.iotsig(["--help"])
    assert r.returncode == 0 and r.stdout.startswith("usage: iotsig {%s} [options]\n" % ",".join(cli.VERBS))
    listed = [line.split()[0] for line in r.stdout.split("\nverbs:\n")[1].split("\n\n")[0].splitlines()]
    assert listed == list(cli.VERBS)
    bare = helpers.iotsig([])
    assert bare.returncode == 2 and bare.stderr == r.stdout and bare.stdout == ""
    wrong = helpers.iotsig(["put"])
    assert (wrong.returncode, wrong.stderr) == (2, "error: 'put' is not a verb of iotsig (iotsig --help lists them)\n")
