"""Decode crawled HTTP bodies to text, robust to the usual lies of Chinese web servers."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

# The HTML standard sniffs only 1024 bytes, but Chinese CMS templates often put <meta charset>
# after long comment banners and script blocks; 8 KB catches those without scanning whole pages.
_SNIFF_BYTES = 8192
# Detection on a prefix is as good as on the whole page and keeps multi-megabyte bodies cheap.
_DETECT_BYTES = 64 * 1024
# Above this share of U+FFFD the declared charset is evidently wrong and detection gets a say.
_BAD_REPLACEMENT_SHARE = 0.02
# Control bytes (other than whitespace) above this share of the sniffed prefix mean binary.
_BINARY_CONTROL_SHARE = 0.01

# Servers (Tomcat, Apache defaults) send ISO-8859-1 for pages that are really GBK or UTF-8, so
# a Latin declaration only counts when nothing else is declared and detection does not object.
_WEAK_LABELS = {"cp1252", "iso8859-1", "ascii"}
_CJK_CODECS = {"gb18030", "big5hkscs", "cp950", "euc_jp", "shift_jis", "cp932", "euc_kr", "cp949"}
_GB_FAMILY = {"gb2312", "gbk", "gb18030"}
# Labels browsers accept that Python's codec registry does not know, or maps differently.
_LABEL_ALIASES = {
    "x-gbk": "gb18030",
    "windows-936": "gb18030",
    "ms936": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "x-euc-cn": "gb18030",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF8", "gif"),
    (b"%PDF", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"RIFF", "riff"),
    (b"\x00\x00\x01\x00", "ico"),
    (b"wOFF", "woff"),
    (b"wOF2", "woff2"),
    (b"\x7fELF", "elf"),
    (b"MZ", "exe"),
    (b"OggS", "ogg"),
    (b"ID3", "mp3"),
    (b"\xd0\xcf\x11\xe0", "ole"),
)

_META_CHARSET = re.compile(rb"<meta[^>]{0,300}?charset\s*=\s*[\"']?\s*([-\w.:]+)", re.I)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([-\w.:]+)", re.I)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([-\w.:]+)", re.I)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")


@dataclass(frozen=True)
class Decoded:
    """Result of decoding a body.

    ``method`` says how the encoding was chosen: ``bom``, ``http``, ``meta``, ``utf8-valid``
    (the bytes are valid multibyte UTF-8 whatever was declared), ``detected``, ``default``, or
    ``binary:<kind>`` when the body is not text at all (then ``text`` is empty).
    """

    text: str
    encoding: str | None
    method: str
    replacement_share: float
    is_text: bool = True


def normalize_label(label: str | None) -> str | None:
    """Map a charset label to the Python codec we decode with, or None if unknown.

    Everything in the GB family becomes gb18030: it is a strict superset, so pages that
    declare gb2312 but use GBK or GB18030 characters (very common) still decode.
    """
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    key = _LABEL_ALIASES.get(key, key)
    try:
        name = codecs.lookup(key).name
    except LookupError:
        return None
    if name in _GB_FAMILY:
        return "gb18030"
    # A page that could announce its charset in ASCII cannot really be UTF-16.
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return name


def http_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header value, if any."""
    if not content_type:
        return None
    m = _HTTP_CHARSET.search(content_type)
    return m.group(1) if m else None


def sniff_meta_charset(body: bytes) -> str | None:
    """The charset declared by ``<meta charset>``, ``http-equiv`` or an XML declaration."""
    head = body[:_SNIFF_BYTES]
    m = _XML_DECL.search(head) or _META_CHARSET.search(head)
    return m.group(1).decode("ascii", "replace") if m else None


def _bom(body: bytes) -> tuple[str, int] | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, len(bom)
    return None


def binary_kind(body: bytes) -> str | None:
    """Return a short kind ("png", "control-bytes", ...) if the body is binary, else None."""
    for magic, kind in _MAGIC:
        if body.startswith(magic):
            return kind
    if body[4:8] == b"ftyp":
        return "mp4"
    head = body[:_SNIFF_BYTES]
    if head and len(_CONTROL.findall(head)) / len(head) > _BINARY_CONTROL_SHARE:
        return "control-bytes"
    return None


def replacement_share(text: str) -> float:
    """Share of U+FFFD replacement characters in ``text`` (0.0 for empty text)."""
    return text.count("\ufffd") / len(text) if text else 0.0


def _is_multibyte_utf8(body: bytes) -> bool:
    if body.isascii():
        return False
    # A crawler that caps body size can cut a character in half; the incremental decoder
    # tolerates an incomplete sequence at the very end but still rejects invalid bytes.
    try:
        codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _decode(body: bytes, encoding: str, method: str) -> Decoded:
    text = body.decode(encoding, errors="replace")
    return Decoded(text, encoding, method, replacement_share(text))


def _detect(body: bytes) -> str | None:
    best = charset_normalizer.from_bytes(body[:_DETECT_BYTES]).best()
    return normalize_label(best.encoding) if best is not None else None


def decode_body(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode an HTTP body to text.

    The BOM wins over any declaration (it is physically in the bytes; browsers do the same),
    then the HTTP charset, then ``<meta>``, then detection. Bytes that are valid multibyte
    UTF-8 are decoded as UTF-8 whatever was declared, because legacy-encoded Chinese text
    essentially never forms valid UTF-8 while mislabelled UTF-8 pages are common.
    """
    bom = _bom(body)
    if bom is not None:
        name, size = bom
        return _decode(body[size:], name, "bom")
    kind = binary_kind(body)
    if kind is not None:
        return Decoded("", None, f"binary:{kind}", 0.0, is_text=False)
    if not body:
        return Decoded("", "utf-8", "default", 0.0)

    declared: list[tuple[str, str]] = []
    for label, how in ((http_charset(content_type), "http"), (sniff_meta_charset(body), "meta")):
        codec = normalize_label(label)
        if codec is not None:
            declared.append((codec, how))

    if _is_multibyte_utf8(body):
        fallback = "utf8-valid" if declared else "detected"
        how = next((h for c, h in declared if c == "utf-8"), fallback)
        return _decode(body, "utf-8", how)

    strong = [d for d in declared if d[0] not in _WEAK_LABELS]
    if declared and not strong and not body.isascii():
        cjk = _detect(body)
        if cjk in _CJK_CODECS:
            return _decode(body, cjk, "detected")
    if declared:
        name, method = (strong or declared)[0]
        decoded = _decode(body, name, method)
        if decoded.replacement_share <= _BAD_REPLACEMENT_SHARE:
            return decoded
        detected = _detect(body)
        if detected is not None and detected != name:
            alternative = _decode(body, detected, "detected")
            if alternative.replacement_share < decoded.replacement_share:
                return alternative
        return decoded

    if body.isascii():
        return _decode(body, "utf-8", "default")
    detected = _detect(body)
    return _decode(body, detected or "gb18030", "detected" if detected else "default")
