"""Canonical URLs: one spelling per article, so the same story from two feeds
(or from a tracking link) compares equal.

``canonical_url`` makes these changes and no others:

- resolves a relative URL against ``base``;
- unwraps known redirectors whose target sits in a query parameter
  (``news.google.com/news/url?url=``, ``www.google.com/url?q=``,
  ``l.facebook.com/l.php?u=``), up to three levels deep;
- lower-cases the scheme and host (IDN hosts become punycode when they can),
  drops any ``user:password@`` part and default ports (80 for http, 443 for
  https);
- trims surrounding spaces and controls and drops tabs and newlines inside
  (as browsers do);
- gives an empty path as ``/``, upper-cases percent escapes (``%2f`` ->
  ``%2F``), percent-encodes controls, spaces, non-ASCII characters and
  ``"<>`` ` `` in the path, query and kept fragment, and otherwise leaves them
  alone (no decoding, so nothing breaks);
- removes the fragment, except an AJAX ``#!`` fragment, which addresses content;
- removes tracking query parameters (:data:`TRACKING_PARAMS` and any key
  starting with one of :data:`TRACKING_PREFIXES`, compared case-insensitively),
  keeps the other parameters in their order and spelling, and drops an empty
  query.

Anything that is not ``http``/``https`` gives ``""``: a ``javascript:``,
``mailto:`` or ``file:`` link is never a story URL.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urljoin, urlsplit, urlunsplit

__all__ = ["TRACKING_PARAMS", "TRACKING_PREFIXES", "canonical_url", "is_http_url"]

#: Query parameters that only say how a reader arrived (campaigns, click ids).
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # ad-network click ids
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "twclid", "ttclid",
        "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "mc_cid", "mc_eid", "oly_anon_id", "oly_enc_id",
        "vero_id", "wickedid", "s_cid", "spm", "guccounter", "guce_referrer", "guce_referrer_sig",
        # publisher campaign tags
        "ref_src", "ref_url", "cmpid", "cmp", "ocid", "smid", "smtyp", "xtor", "ito", "emc",
        "soc_src", "soc_trk", "wt.mc_id", "icid", "partner", "ns_mchannel", "ns_source",
        "ns_campaign", "ns_linkname", "ns_fee", "at_medium", "at_campaign", "at_link_id",
        "at_link_origin", "at_link_type", "at_format", "at_ptr_name", "at_bbc_team",
        "__twitter_impression", "feature_ref",
        # Google News RSS article links carry this
        "oc",
    }
)

#: Key prefixes of tracking parameters (``utm_source``, ``at_custom1`` ...).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "at_custom", "pk_", "mtm_")

_DEFAULT_PORTS = {"http": "80", "https": "443"}

# host -> (path, query key holding the target)
_REDIRECTORS: dict[str, tuple[tuple[str, str], ...]] = {
    "news.google.com": (("/news/url", "url"),),
    "www.google.com": (("/url", "url"), ("/url", "q")),
    "google.com": (("/url", "url"), ("/url", "q")),
    "l.facebook.com": (("/l.php", "u"),),
}

_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
# Characters a URL may not hold as they are: controls, space, non-ASCII, and a
# few printable ones that break out of quotes and angle brackets.
_UNSAFE = re.compile(r'[^\x21-\x7e]|["<>`]')
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"<>`')
_EDGE_JUNK = "".join(chr(c) for c in range(0x21))


def is_http_url(url: str | None) -> bool:
    """True when ``url`` is an absolute http(s) URL with a host."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)


def canonical_url(url: str | None, base: str | None = None) -> str:
    """The canonical form of ``url`` (see the module docstring), or ``""`` when
    it is not an http(s) URL. Never raises."""
    if not url:
        return ""
    # As browsers do: trim controls and spaces, drop tabs and newlines inside.
    candidate = url.strip(_EDGE_JUNK).replace("\t", "").replace("\n", "").replace("\r", "")
    if base:
        try:
            candidate = urljoin(base.strip(), candidate)
        except ValueError:
            return ""
    for _ in range(4):
        result = _canonical_once(candidate)
        if result is None:
            return ""
        canonical, target = result
        if target is None:
            return canonical
        candidate = target
    return canonical


def _canonical_once(url: str) -> tuple[str, str | None] | None:
    """(canonical form, redirect target or None), or None when not http(s)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    host, port = _split_host_port(parts.netloc)
    if not host:
        return None
    host = _normalize_host(host)
    netloc = host if port in ("", _DEFAULT_PORTS[scheme]) else f"{host}:{port}"

    target = _redirect_target(host, parts.path, parts.query)
    if target is not None:
        return "", target

    path = _encode(parts.path) or "/"
    query = _encode(_strip_tracking(parts.query))
    fragment = _encode(parts.fragment) if parts.fragment.startswith("!") else ""
    return urlunsplit((scheme, netloc, path, query, fragment)), None


def _split_host_port(netloc: str) -> tuple[str, str]:
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        if end < 0:
            return "", ""
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        return host, rest[1:] if rest.startswith(":") else ""
    host, _, port = hostport.partition(":")
    if port and not port.isdigit():
        return "", ""
    return host, port.lstrip("0") or ("0" if port else "")


def _normalize_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _encode(text: str) -> str:
    """Percent-encode unsafe characters and upper-case escapes; nothing else."""
    if not text:
        return text
    if _UNSAFE.search(text):
        text = quote(text, safe=_SAFE)
    if "%" in text:
        text = _PERCENT_ESCAPE.sub(lambda m: m.group(0).upper(), text)
    return text


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _strip_tracking(query: str) -> str:
    if not query:
        return ""
    kept = []
    for piece in query.split("&"):
        if not piece:
            continue
        key = piece.partition("=")[0]
        if not _is_tracking(key):
            kept.append(piece)
    return "&".join(kept)


def _redirect_target(host: str, path: str, query: str) -> str | None:
    rules = _REDIRECTORS.get(host)
    if not rules or not query:
        return None
    params = dict(parse_qsl(query, keep_blank_values=True))
    for rule_path, key in rules:
        if path == rule_path and is_http_url(params.get(key)):
            return params[key]
    return None
