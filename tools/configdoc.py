"""The config reference in config/README.md, generated from the tables the firmware validates against.

settings.FIELDS (every device) and board_esp32.Board.FIELDS (the ESP32's own fields) declare each
field once: name, kind, default, required. The "#:" comment lines above a row say what it means,
and a "# -- title --" line starts a group (the feature that reads the fields below it). This tool
writes each table between its markers in config/README.md; --check only compares (exit 1 when the
doc and the code differ), which a test runs.

    python tools/configdoc.py            rewrite the tables in config/README.md
    python tools/configdoc.py --check    exit 1 when config/README.md is not what the code says
"""

import argparse
import ast
import os
import sys
import types

import layout
import tooldoc

DOC = os.path.join(layout.ROOT, "config", "README.md")
# (marker name, the module's source, the module name, where its FIELDS are)
TABLES = (
    ("settings", os.path.join(layout.APP, "iotsv_settings.py"), "iotsv_settings", None),
    ("esp32", os.path.join(layout.BOARDS, "esp32", "iotsv_board_esp32.py"), "iotsv_board_esp32", "Board"),
)
HARDWARE = ("machine", "network", "ntptime", "esp32")  # the ESP32's own modules, absent on the host


class DocError(Exception):
    pass


def _rows_in_source(path):
    """[(group title, name, meaning, default's source text)] in the order of the FIELDS tuple."""
    with open(path) as f:
        source = f.read()
    tree = ast.parse(source)
    table = None
    for node in ast.walk(tree):
        targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
            isinstance(t, ast.Name) and t.id == "FIELDS" for t in targets
        ):
            table = node.value
    if not isinstance(table, ast.Tuple):
        raise DocError("%s: no FIELDS tuple" % path)
    lines = source.splitlines()
    rows, group, previous_end = [], None, table.lineno
    for elt in table.elts:
        if not isinstance(elt, ast.Tuple) or not isinstance(elt.elts[0], ast.Constant):
            raise DocError("%s:%d: a FIELDS row is not a literal (name, ...) tuple" % (path, elt.lineno))
        name = elt.elts[0].value
        meaning = []
        for line in lines[previous_end : elt.lineno - 1]:  # the comment lines between rows
            text = line.strip()
            if text.startswith("# --") and text.endswith("--"):
                group, meaning = text.strip("#- "), []
            elif text.startswith("#:"):
                meaning.append(text[2:].strip())
        if not meaning:
            raise DocError('%s:%d: field %s has no "#:" line saying what it means' % (path, elt.lineno, name))
        if group is None:
            raise DocError('%s:%d: field %s is in no "# -- group --"' % (path, elt.lineno, name))
        default = ast.get_source_segment(source, elt.elts[3])
        rows.append((group, name, " ".join(meaning), default))
        previous_end = elt.end_lineno
    return rows


def _fields(module_name, owner):
    """The FIELDS tuple as the firmware holds it (kinds' arguments evaluated)."""
    sys.path[:0] = [p for p in layout.source_path("esp32") if p not in sys.path]
    for name in HARDWARE:  # the board layer imports them at the top; reading FIELDS needs none
        sys.modules.setdefault(name, types.ModuleType(name))
    module = __import__(module_name)
    return getattr(module, owner).FIELDS if owner else module.FIELDS


def _quoted(values):
    return ", ".join('`"%s"`' % v for v in values)


def _kind(kind, arg):
    if kind == "text":
        return "text"
    if kind == "secret":
        return "text, secret"
    if kind in ("number", "whole"):
        what = "number" if kind == "number" else "whole number"
        return what if arg is None else "%s >= %s" % (what, arg)
    if kind == "bool":
        return "`True` or `False`"
    if kind == "choice":
        return "one of " + _quoted(arg() if callable(arg) else arg)
    if kind == "names":
        return "tuple of " + _quoted(arg)
    if kind == "pair":
        return "pair of numbers >= %s" % arg
    if kind == "rules":
        return "tuple of rules"
    raise DocError("no field kind %r" % kind)


def _required(required):
    if required is True:
        return "yes"
    if required is False:
        return "no"
    return '`%s` has `"%s"`' % required


def table(marker):
    """The Markdown between the marker's begin and end lines: a table per group."""
    known = {t[0]: t[1:] for t in TABLES}
    if marker not in known:
        raise DocError("no table %r" % marker)
    path, module_name, owner = known[marker]
    declared = {row[0]: row for row in _fields(module_name, owner)}
    rows = _rows_in_source(path)
    if [r[1] for r in rows] != list(declared):
        raise DocError("%s: the FIELDS rows read from the source differ from the module's" % path)
    out, group = [], None
    for title, field, meaning, default in rows:
        _, kind, arg, value, required = declared[field]
        try:
            ast.literal_eval(default)  # a literal as written (0x76, "state"); else its value (256 * 1024)
        except ValueError:
            default = repr(value)
        if required is True and value is None:
            default = None
        if title != group:
            if group is not None:
                out.append("")
            out += ["### " + title, "", "| field | type | default | required | meaning |", "|---|---|---|---|---|"]
            group = title
        cells = (
            "`%s`" % field,
            _kind(kind, arg),
            "-" if default is None else "`%s`" % default,
            _required(required),
            meaning,
        )
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    source = os.path.relpath(path, layout.ROOT)
    head = "<!-- generated by tools/configdoc.py from %s: edit the FIELDS there, then run make docs -->" % source
    return "\n".join([head, ""] + out) + "\n"


def _markers(marker):
    return "<!-- fields:%s begin -->\n" % marker, "<!-- fields:%s end -->" % marker


def rendered(text):
    """The doc's text with every table replaced by what the code says."""
    for name, *_ in TABLES:
        begin, end = _markers(name)
        if text.count(begin) != 1 or text.count(end) != 1:
            raise DocError("%s: needs one %r and one %r line" % (DOC, begin.strip(), end))
        head, rest = text.split(begin)
        _, tail = rest.split(end)
        text = head + begin + table(name) + end + tail
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=tooldoc.description(__doc__))
    parser.add_argument("--check", action="store_true", help="compare only: exit 1 when the doc is stale")
    args = parser.parse_args(argv)
    with open(DOC) as f:
        text = f.read()
    try:
        new = rendered(text)
    except DocError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    if args.check:
        if new != text:
            print("error: %s differs from the FIELDS tables: run make docs" % os.path.relpath(DOC), file=sys.stderr)
            return 1
        return 0
    if new != text:
        with open(DOC, "w") as f:
            f.write(new)
        print("configdoc: wrote %s" % os.path.relpath(DOC, layout.ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
