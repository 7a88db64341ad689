# URLs and authorities, parsed in one place for every caller: the HTTP sink and HTTP Signatures'
# derived components (split_url), the config's hosts (split_authority), Host headers (authority).

DEFAULT_PORTS = {"http": 80, "https": 443}


def split_url(url):
    """(scheme, authority, path, query or None) of an absolute URL, as RFC 9421 reads it: scheme
    and authority lowercased, the scheme's default port dropped, the fragment dropped."""
    sep = url.find("://")
    if sep <= 0:
        raise ValueError("not an absolute URL: %r" % url)
    scheme = url[:sep].lower()
    rest = url[sep + 3 :].split("#")[0]
    end = len(rest)
    for c in "/?":
        i = rest.find(c)
        if 0 <= i < end:
            end = i
    authority, rest = rest[:end].lower(), rest[end:]
    default = DEFAULT_PORTS.get(scheme)
    if default and authority.endswith(":%d" % default):
        authority = authority[: -len(":%d" % default)]
    path, q, query = rest.partition("?")
    return scheme, authority, path or "/", query if q else None


def split_authority(text):
    """(host, port or None) of host[:port]; ValueError saying what is wrong."""
    host, port = text, None
    if text.count(":") == 1:
        host, port_text = text.split(":")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError("port must be 1-65535")
        port = int(port_text)
    if not host or "/" in host or " " in host or ":" in host:
        raise ValueError("must be host or host:port (no scheme or path)")
    return host, port


def authority(host, port, default_port=None):
    """host[:port] as a Host header or a config gives it: the port only when it is not the default."""
    return host if port is None or port == default_port else "%s:%d" % (host, port)
