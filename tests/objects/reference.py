"""S3's definition of a listing, written the plain way, for tests to check the real one against.

Every key in UTF-8 byte order; those that start with the prefix and sort after the start key;
with a delimiter, each key holding it after the prefix rolled up into its common prefix (up to
and including the delimiter's first occurrence there), once, and a common prefix at or before
the start key left out, as a page after the one that ended on it must (moto's server answers
the same).
"""

from __future__ import annotations

from pipelines.objects import Listed

# Keys whose byte order a folder-by-folder walk in name order gets wrong: characters below "/"
# (space ! # $ % & ' ( ) * + , - .) sort before a folder's keys, "0" and above after them, and
# non-ASCII text by its UTF-8 bytes (so by code point: U+FF71 before U+1F600, unlike UTF-16).
TRICKY = [
    "a b",
    "a!",
    "a#x",
    "a%2F",
    "a+b",
    "a,b",
    "a-b/c",
    "a.b",
    "a/b-c",
    "a/b.c",
    "a/b/c-d",
    "a/b/c.e",
    "a/b/c/d",
    "a/b0",
    "a/bb",
    "a0",
    "a~",
    "ab/c",
    "A",
    "z/\u00e9",
    "z/e",
    "z/~",
    "z/\uff71",
    "z/\U0001f600",
    "\u65e5\u672c/x",
]


def expected(keys: list[str], prefix: str = "", after: str = "", delimiter: str = "") -> list[Listed]:
    """S3's listing, by definition: the reference the walk is checked against."""
    out: list[Listed] = []
    for key in sorted(keys, key=lambda k: k.encode("utf-8")):
        if not key.startswith(prefix) or key <= after:
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        if cut < 0:
            out.append(Listed(key))
            continue
        common = key[: cut + len(delimiter)]
        if common > after and Listed(common, True) not in out:
            out.append(Listed(common, True))
    return out
