# The part of RFC 8941 Structured Field Values that HTTP Message Signatures (RFC 9421) use: the
# value types and their serialization, which is all signing needs. Parsing (what only a verifier
# needs, three times the bytecode) is in iotsv_structparse.py. Values are plain data:
#   item: (value, [(param, value), ...]); inner list: ([item, ...], params); bytes: Bytes(b"..").
from binascii import b2a_base64


class StructError(ValueError):
    pass


class Bytes:
    def __init__(self, value):
        self.value = bytes(value)

    def __eq__(self, other):
        return isinstance(other, Bytes) and other.value == self.value


class Token:
    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Token) and other.value == self.value


def ser_bare(v):
    if isinstance(v, bool):
        return "?1" if v else "?0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        for c in v:
            if not " " <= c <= "~":
                raise StructError("string %r has characters a structured field cannot carry" % v)
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, Bytes):
        return ":" + b2a_base64(v.value).decode().strip() + ":"
    if isinstance(v, Token):
        return v.value
    raise StructError("cannot serialize %r" % (v,))


def ser_params(params):
    return "".join(";" + k + ("" if v is True else "=" + ser_bare(v)) for k, v in params)


def ser_inner_list(items, params):
    return "(" + " ".join(ser_bare(v) + ser_params(p) for v, p in items) + ")" + ser_params(params)
