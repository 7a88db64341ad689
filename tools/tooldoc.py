"""The --help description of a tool: the first paragraph of its docstring, joined into one line."""


def description(doc):
    """The first paragraph of `doc` (up to the first blank line), its lines joined by spaces."""
    return " ".join(doc.strip().split("\n\n")[0].split())
