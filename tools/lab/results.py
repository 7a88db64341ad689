"""The lab's results, tools/lab/RESULTS.md: each lab target (make bench, make membudget, ...) rewrites its
own section there with what it printed, the date, the machine and the command that measured it.
Measured figures live in that one file; the other docs link to it."""

import datetime
import os
import platform
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATH = os.path.join(ROOT, "tools", "lab", "RESULTS.md")


def machine():
    """The machine in one line: architecture, cores, CPU model, OS, Python."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = ", " + line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d cores%s, %s %s, Python %s" % (
        platform.machine(),
        os.cpu_count() or 0,
        model,
        platform.system(),
        platform.release(),
        platform.python_version(),
    )


def command(argv=None):
    """The command as a person types it: the tool's path relative to the repo, its arguments."""
    argv = sys.argv if argv is None else argv
    tool = os.path.relpath(os.path.abspath(argv[0]), ROOT)
    return " ".join([".venv/bin/python", tool] + [a if a and " " not in a else repr(a) for a in argv[1:]])


def section(name, title, text, when=None, argv=None):
    """The Markdown of one section, between its markers."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return "\n".join(
        [
            "<!-- results:%s begin -->" % name,
            "## %s" % title,
            "",
            "Measured %s on %s, by `%s`:" % (when.strftime("%Y-%m-%d %H:%M UTC"), machine(), command(argv)),
            "",
            "```",
            text.rstrip("\n"),
            "```",
            "<!-- results:%s end -->" % name,
        ]
    )


def record(name, title, text, path=PATH, when=None, argv=None):
    """Rewrite section `name` of the results file (appended when it has none yet)."""
    new = section(name, title, text, when, argv)
    with open(path) as f:
        doc = f.read()
    begin, end = "<!-- results:%s begin -->" % name, "<!-- results:%s end -->" % name
    if begin in doc and end in doc:
        head, rest = doc.split(begin, 1)
        doc = head + new + rest.split(end, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n" + new + "\n"
    with open(path, "w") as f:
        f.write(doc)
    print("results: %s in %s" % (title, os.path.relpath(path, ROOT)))
