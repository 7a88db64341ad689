# The docs say what runs: every command in a ```sh block of every Markdown file names make targets
# and variables the Makefile has, tools that exist and options their --help lists; every repo path
# and relative link a doc gives exists (links to a heading too); the config reference is what the
# code validates against; make help lists every target; READINGS means one thing; make clean
# removes outputs and nothing else. Nothing long runs here: tools are asked only for --help.
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

import configdoc
from local.localddb import ROOT

SKIP_DIRS = {".git", ".venv", "build", ".local", "node_modules", ".pytest_cache", ".ruff_cache", ".hypothesis"}
DOCS = sorted(
    os.path.relpath(os.path.join(folder, name), ROOT)
    for folder, dirs, files in os.walk(ROOT)
    if not dirs.__setitem__(slice(None), [d for d in dirs if d not in SKIP_DIRS])
    for name in files
    if name.endswith(".md")
)
TOP = ("firmware/", "tools/", "config/", "tests/", "typecheck/")
# written on another branch at the time of writing: a link to it may wait for the merge
PENDING = set()
ELSEWHERE = {"mkdir", "pip", "esptool.py", "mpremote", "cp", "export", "aws", "openssl", "curl", "git", "cd"}


def read(doc):
    with open(os.path.join(ROOT, doc)) as f:
        return f.read()


def sh_commands(text):
    """Each command of the doc's ```sh blocks, as (its line, its words): continuation lines joined,
    comments and leading VAR=value assignments dropped, commands joined by &&, || or ; apart."""
    for block in re.findall(r"^[ \t]*```sh\n(.*?)^[ \t]*```", text, re.M | re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(re.sub(r"\$\([^)]*\)", "SUBST", line), comments=True)
            parts = [[]]
            for word in words:
                if word in ("&&", "||", ";"):  # (a lone | is the docs' "one or the other")
                    parts.append([])
                else:
                    parts[-1].append(word)
            for part in parts:
                while part and re.match(r"^[A-Z_][A-Z0-9_]*=", part[0]):
                    part = part[1:]
                if part:
                    yield line.strip(), part


def makefile_targets():
    with open(os.path.join(ROOT, "Makefile")) as f:
        text = f.read()
    targets = set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.M))
    return targets, text


@functools.lru_cache(maxsize=None)
def tool_help(tool, *subs):
    env = dict(os.environ, COLUMNS="200")
    program = (
        [os.path.join(ROOT, ".venv", "bin", tool)] if tool == "iotsig" else [sys.executable, os.path.join(ROOT, tool)]
    )
    args = program + list(subs) + ["--help"]
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert r.returncode == 0, "%s --help failed: %s" % (" ".join(args[1:]), r.stderr[-500:])
    return r.stdout


def subcommands(help_text):
    m = re.search(r"\{([a-z0-9_,-]+)\}", help_text)
    return m.group(1).split(",") if m else []


def check_tool(line, tool, args):
    """A `.venv/bin/python tools/x.py [sub] --opt ...` (or `iotsig verb ...`) command: the tool
    exists and takes each option."""
    if tool != "iotsig":
        assert os.path.isfile(os.path.join(ROOT, tool)), "%s: no such tool (in %r)" % (tool, line)
    rest = [w.strip("[]|") for w in args]
    help_text, subs = tool_help(tool), []
    while rest and rest[0] in subcommands(help_text):  # a verb, and its own verbs (iotsig release publish)
        subs.append(rest.pop(0))
        help_text = tool_help(tool, *subs)
    accepted = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", help_text))
    for word in rest:
        option = word.split("=", 1)[0]
        if re.match(r"^--?[A-Za-z]", option):
            assert option in accepted, "%s does not take %s (in %r)" % (" ".join([tool] + subs), option, line)


def check_paths(where, text):
    for path in re.findall(r"(?<![\w./-])((?:%s)[\w./-]*\w/?)" % "|".join(re.escape(t) for t in TOP), text):
        if "<" in path or "*" in path:
            continue
        assert os.path.exists(os.path.join(ROOT, path)), "%s names %s, which does not exist" % (where, path)


def test_the_docs_are_found():
    assert {"README.md", "firmware/README.md", "config/README.md", "tools/README.md"} <= set(DOCS)


def check_pytest(line, args, markers):
    """A `.venv/bin/python -m pytest ...` command: each marker its -m expression names is registered
    (the paths it names are checked as any doc's)."""
    for flag, value in zip(args, args[1:]):
        if flag == "-m":
            for name in re.findall(r"[A-Za-z_]\w*", value):
                assert name in markers or name in ("and", "or", "not"), "no marker %s (in %r)" % (name, line)


@pytest.mark.parametrize("doc", DOCS)
def test_every_command_in_a_doc_runs_as_written(doc, pytestconfig):
    targets, makefile = makefile_targets()
    markers = {m.split(":")[0].split("(")[0] for m in pytestconfig.getini("markers")}
    checked = 0
    for line, words in sh_commands(read(doc)):
        head = words[0]
        if head == "make" and "-C" not in words:
            for word in words[1:]:
                if "=" in word:
                    var = word.split("=", 1)[0]
                    assert re.search(r"\$\(%s\)|^%s \?=" % (var, var), makefile, re.M), (
                        "%s: make has no variable %s (in %r)" % (doc, var, line)
                    )
                elif not word.startswith("-"):
                    assert word in targets, "%s: make has no target %s (in %r)" % (doc, word, line)
        elif head == ".venv/bin/python" and words[1:3] == ["-m", "pytest"]:
            check_pytest(line, words[3:], markers)
        elif head in (".venv/bin/python", "python", "python3") and words[1:2] and words[1].endswith(".py"):
            check_tool(line, words[1], words[2:])
        elif head.startswith("tools/") or head.startswith("./tools/"):
            pytest.fail("%s: %r runs a tool without the interpreter: .venv/bin/python %s" % (doc, line, head))
        elif head == "iotsig":  # the host command, once installed
            if not os.path.exists(os.path.join(ROOT, ".venv", "bin", "iotsig")):
                continue
            check_tool(line, "iotsig", words[1:])
        else:
            assert head in ELSEWHERE or head == "make", "%s: %r is not a command these checks know" % (doc, line)
        check_paths("%s (%r)" % (doc, line), line)
        checked += 1
    if doc == "README.md":
        assert checked >= 5


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("doc", DOCS)
def test_every_path_and_link_in_a_doc_exists(doc):
    text = read(doc)
    for code in re.findall(r"`([^`\n]+)`", text):
        check_paths(doc, code)
    targets, _ = makefile_targets()
    for target in re.findall(r"`make ([a-z][\w.-]*)", text):
        assert target in targets, "%s: `make %s`: no such target" % (doc, target)
    here = os.path.dirname(os.path.join(ROOT, doc))
    for link in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = os.path.normpath(os.path.join(here, path)) if path else os.path.join(ROOT, doc)
        if os.path.relpath(target, ROOT) in PENDING and not os.path.exists(target):
            continue
        assert os.path.exists(target), "%s links to %s, which does not exist" % (doc, link)
        if anchor and target.endswith(".md"):
            with open(target) as f:
                anchors = {slug(h) for h in re.findall(r"^#+ (.*)$", f.read(), re.M)}
            assert anchor in anchors, "%s links to %s: no such heading there" % (doc, link)


def test_the_readme_is_a_landing_page():
    text = read("README.md")
    assert len(text.splitlines()) <= 250
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), "a dated figure belongs in tools/lab/RESULTS.md"


def test_the_config_reference_is_what_the_code_validates():
    with open(configdoc.DOC) as f:
        text = f.read()
    assert configdoc.rendered(text) == text, "config/README.md is stale: run make docs"
    import iotsv_settings as settings

    for row in settings.FIELDS:  # each field documented once, in its generated row
        assert text.count("| `%s` |" % row[0]) == 1, row[0]


def test_a_field_without_its_meaning_is_refused(tmp_path, monkeypatch):
    source = tmp_path / "fields.py"
    source.write_text('FIELDS = (\n    # -- Group --\n    ("NAME", "text", None, None, True),\n)\n')
    with pytest.raises(configdoc.DocError, match="NAME has no"):
        configdoc._rows_in_source(str(source))


def make(*args, cwd=ROOT):
    return subprocess.run(["make", "--no-print-directory", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_make_alone_lists_every_target_with_one_line():
    _, makefile = makefile_targets()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split()
    r = make()
    assert r.returncode == 0, r.stderr
    listed = dict(re.findall(r"^  make (\S+) +(\S.*)$", r.stdout, re.M))
    assert set(phony) <= set(listed), set(phony) - set(listed)
    assert make("help").stdout == r.stdout


@pytest.mark.parametrize(
    "args, expected",
    [
        (["run"], "localddb.py run  --interval"),  # unset: the tool's default, until Ctrl-C
        (["run", "READINGS=20"], "--readings 20 "),
        (["run", "READINGS=forever"], "--readings 0 "),
        (["chaos"], "chaos.py  --faults"),  # unset: chaos's own 1000
        (["chaos", "READINGS=5000"], "--readings 5000 "),
        (["fleet", "READINGS=30"], "--readings 30 "),
    ],
)
def test_readings_means_one_thing(args, expected):
    r = make("-n", *args)
    assert r.returncode == 0, r.stderr
    assert expected in r.stdout


@pytest.mark.parametrize(
    "args, says",
    [
        (["chaos", "READINGS=forever"], "make chaos needs a number"),
        (["fleet", "READINGS=forever"], "make fleet needs a number"),
        (["run", "READINGS=0"], "READINGS=0: give a number"),
        (["run", "READINGS=ten"], "READINGS=ten: give a number"),
    ],
)
def test_a_count_that_is_no_count_is_a_usage_error(args, says):
    r = make("-n", *args)
    assert r.returncode == 2 and says in r.stderr, r.stderr


def test_make_clean_removes_outputs_and_nothing_tracked(tmp_path):
    for name in ("Makefile", ".gitignore", "requirements.txt", "requirements-nodeps.txt"):
        shutil.copy(os.path.join(ROOT, name), tmp_path / name)
    (tmp_path / "config" / "d1").mkdir(parents=True)
    (tmp_path / "config" / "d1" / "config.py").write_text("DEVICE_ID = 'd1'\n")
    env = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t"
    )
    for git in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "tracked"]):
        subprocess.run(["git", *git], cwd=tmp_path, check=True, env=env)
    outputs = [
        "build/image/micropython",
        ".local/run/config/config.py",
        ".venv/bin/python",
        "tools/__pycache__/x.pyc",
        "config/d1/state/spool.dat",
        "config/d1/ota/current",
        "config/d1/crash.log",
        ".pytest_cache/x",
    ]
    mine = tmp_path / "devices" / "d2" / "config.py"  # a device folder of the user's: untracked, not ignored
    for path in outputs + [str(mine.relative_to(tmp_path))]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    r = make("clean", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    left = [p for p in outputs if (tmp_path / p).exists()]
    assert not left and not (tmp_path / "build").exists(), left
    assert mine.exists() and (tmp_path / "config" / "d1" / "config.py").exists()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert status.split() == ["??", "devices/"], status


def test_a_lab_target_rewrites_its_own_section_of_the_results(tmp_path):
    import datetime

    from lab import results

    path = tmp_path / "RESULTS.md"
    path.write_text("# Results\n\nkept\n")
    when = datetime.datetime(2026, 12, 7, 13, 0, tzinfo=datetime.timezone.utc)
    argv = [os.path.join(ROOT, "tools", "lab", "bench.py"), "--json", "build/bench.json"]
    results.record("bench", "make bench: benchmarks", "figure 1", str(path), when, argv)
    results.record("chaos", "make chaos", "PASS", str(path), when, argv)
    results.record("bench", "make bench: benchmarks", "figure 2", str(path), when, argv)
    text = path.read_text()
    assert text.startswith("# Results\n\nkept\n") and text.count("## make bench") == 1
    assert "figure 2" in text and "figure 1" not in text and "PASS" in text
    assert "Measured 2026-12-07 13:00 UTC on %s" % results.machine() in text
    assert "`.venv/bin/python tools/lab/bench.py --json build/bench.json`" in text
    assert text.index("## make bench") < text.index("## make chaos")  # rewritten in place, not moved
