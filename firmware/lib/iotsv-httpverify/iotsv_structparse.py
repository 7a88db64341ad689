# RFC 8941 parsing for the verifiers (iotsv_structfield.py has the types and the serialization): the
# dictionaries whose members are inner lists or byte sequences, with parameters; bare items are
# integers, strings, tokens, byte sequences and booleans.
from binascii import a2b_base64

from iotsv_structfield import Bytes, StructError, Token

try:
    from micropython import const
except ImportError:  # CPython: the value itself (MicroPython's compiler puts it where the name is used)

    def const(__value):  # positional only, as MicroPython's
        return __value


_MAX_INTEGER_DIGITS = const(15)  # RFC 8941 3.3.1: an integer has at most 15 digits
_LCALPHA = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
_KEY_CHARS = _LCALPHA + _DIGITS + "_-.*"
_TOKEN_CHARS = _LCALPHA + _LCALPHA.upper() + _DIGITS + ":/!#$%&'*+-.^_`|~"
_B64 = _LCALPHA + _LCALPHA.upper() + _DIGITS + "+/="


class _Parser:
    def __init__(self, text):
        self.s = text
        self.i = 0

    def fail(self, what):
        raise StructError("%s at character %d of %r" % (what, self.i, self.s[:60]))

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip(self, chars=" "):
        while self.i < len(self.s) and self.s[self.i] in chars:
            self.i += 1

    def key(self):
        start = self.i
        if self.peek() not in _LCALPHA + "*" or not self.peek():
            self.fail("expected a key")
        while self.peek() and self.peek() in _KEY_CHARS:
            self.i += 1
        return self.s[start : self.i]

    def bare_item(self):
        c = self.peek()
        if c == "-" or (c and c in _DIGITS):
            start = self.i
            self.i += 1
            while self.peek() and self.peek() in _DIGITS:
                self.i += 1
            if self.peek() == ".":
                self.fail("decimals are not supported")
            text = self.s[start : self.i]
            if text == "-" or len(text.lstrip("-")) > _MAX_INTEGER_DIGITS:
                self.fail("bad integer")
            return int(text)
        if c == '"':
            self.i += 1
            out = []
            while True:
                c = self.peek()
                if not c:
                    self.fail("unterminated string")
                self.i += 1
                if c == "\\":
                    c = self.peek()
                    if c not in ('"', "\\") or not c:
                        self.fail("bad escape in string")
                    self.i += 1
                    out.append(c)
                elif c == '"':
                    return "".join(out)
                elif not " " <= c <= "~":
                    self.fail("character not allowed in a string")
                else:
                    out.append(c)
        if c == ":":
            end = self.s.find(":", self.i + 1)
            if end < 0:
                self.fail("unterminated byte sequence")
            text = self.s[self.i + 1 : end]
            for ch in text:
                if ch not in _B64:
                    self.fail("bad base64 in byte sequence")
            self.i = end + 1
            try:
                return Bytes(a2b_base64(text) if text else b"")
            except ValueError:
                self.fail("bad base64 in byte sequence")
        if c == "?":
            self.i += 1
            c = self.peek()
            if c not in ("0", "1") or not c:
                self.fail("bad boolean")
            self.i += 1
            return c == "1"
        if c and (c in _LCALPHA + _LCALPHA.upper() or c == "*"):
            start = self.i
            while self.peek() and self.peek() in _TOKEN_CHARS:
                self.i += 1
            return Token(self.s[start : self.i])
        self.fail("expected an item")

    def params(self):
        out = []
        seen = set()
        while self.peek() == ";":
            self.i += 1
            self.skip()
            k = self.key()
            if k in seen:
                self.fail("parameter %r given twice" % k)
            seen.add(k)
            v = True
            if self.peek() == "=":
                self.i += 1
                v = self.bare_item()
            out.append((k, v))
        return out

    def item_or_inner_list(self):
        if self.peek() == "(":
            self.i += 1
            items = []
            while True:
                self.skip()
                if self.peek() == ")":
                    self.i += 1
                    return (items, self.params())
                items.append((self.bare_item(), self.params()))
                if self.peek() not in (" ", ")"):
                    self.fail("expected a space or ')' in inner list")
        return (self.bare_item(), self.params())

    def dictionary(self):
        out = []
        seen = set()
        self.skip()
        while self.i < len(self.s):
            k = self.key()
            if k in seen:
                self.fail("member %r given twice" % k)
            seen.add(k)
            if self.peek() == "=":
                self.i += 1
                out.append((k, self.item_or_inner_list()))
            else:
                out.append((k, (True, self.params())))
            self.skip(" \t")
            if self.i >= len(self.s):
                break
            if self.peek() != ",":
                self.fail("expected ','")
            self.i += 1
            self.skip(" \t")
            if self.i >= len(self.s):
                self.fail("trailing ','")
        return out


def parse_dictionary(text):
    """[(key, member)] in order; a key given twice is an error (it would let one label hide another)."""
    return _Parser(text.strip(" ")).dictionary()  # RFC 8941 4.2: leading and trailing SP only
