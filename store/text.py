"""Text helpers both backends share, so search behaves the same on each."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from store.query import And, Near, Node, Or, Scoped, Word

# Han ideographs (with extension A and compatibility forms): one token per character,
# the way Elasticsearch's standard tokenizer splits them, so a phrase of characters
# is a substring match on both backends.
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
FRAGMENT_CHARS = 80
MAX_FRAGMENTS = 3


def han_spaced(text: str) -> str:
    """Put spaces around every Han character (the SQLite full-text index input)."""
    # Replacing whole runs is ~10x faster than one substitution per character.
    return _HAN_RUN.sub(lambda m: " " + " ".join(m.group()) + " ", text)


def han_bigrams(text: str) -> str:
    """The SQLite full-text index input: each Han character starts one token, the pair
    it makes with the next character of its run (the last character of a run stands
    alone). Positions stay one per character, as with single characters, but a
    two-character word is one token: its look-up reads one short list instead of
    intersecting the long lists of two common characters."""
    return _HAN_RUN.sub(_bigram_run, text)


def _bigram_run(match: re.Match[str]) -> str:
    run = match.group()
    return " " + " ".join([run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]) + " "


@dataclass(frozen=True)
class PhraseTokens:
    """How a searched word reads in :func:`han_bigrams` tokens: the phrase's tokens, and
    whether the last one is a prefix (a single Han character ending the word is the
    start of whatever token its position holds)."""

    tokens: list[str]
    prefix: bool
    # The phrase ends one token before the word's last character (a word ending in two
    # or more Han characters): a NEAR distance measured from it is one larger.
    short_end: bool


def phrase_tokens(word: str, *, whole: bool = False) -> PhraseTokens:
    """The tokens of ``word`` as a phrase over :func:`han_bigrams` text. ``whole`` makes
    the phrase cover the last character too (as a prefix token), so NEAR distances come
    out as for single characters."""
    tokens: list[str] = []
    pos, prefix, short_end = 0, False, False
    runs = list(_HAN_RUN.finditer(word))
    for k, run in enumerate(runs):
        tokens.extend(word[pos : run.start()].split())
        text, last = run.group(), k == len(runs) - 1 and run.end() == len(word)
        pairs = [text[i : i + 2] for i in range(len(text) - 1)]
        if not last:
            # Followed by other text, the run ends here in any text that contains the
            # word, so its tokens are exactly those of the stored text.
            tokens.extend([*pairs, text[-1]])
        elif pairs and not whole:
            tokens.extend(pairs)
            short_end = True
        else:
            tokens.extend([*pairs, text[-1]])
            prefix = True
        pos = run.end()
    tokens.extend(word[pos:].split())
    return PhraseTokens(tokens, prefix, short_end)


def positive_words(node: Node, field: str) -> list[str]:
    """Words whose presence in ``field`` makes ``node`` match (for highlighting)."""
    found: list[str] = []

    def visit(n: Node, scope: str | None) -> None:
        if isinstance(n, Word):
            if scope in (None, field):
                found.append(n.text)
        elif isinstance(n, Scoped):
            visit(n.child, n.field)
        elif isinstance(n, Near):
            visit(n.left, scope)
            visit(n.right, scope)
        elif isinstance(n, And | Or):
            for child in n.children:
                visit(child, scope)

    visit(node, None)
    return found


def highlight(text: str, words: list[str]) -> list[str]:
    """Fragments of ``text`` around ``words``: escaped HTML, matches in ``<mark>``."""
    if not text or not words:
        return []
    pattern = re.compile(
        "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)),
        re.IGNORECASE,
    )
    spans = [m.span() for m in pattern.finditer(text)]
    fragments: list[str] = []
    i = 0
    while i < len(spans) and len(fragments) < MAX_FRAGMENTS:
        # Short texts (titles) and early matches show from the start, as a reader would.
        first = spans[i][0]
        start = 0 if first < FRAGMENT_CHARS // 2 else first - FRAGMENT_CHARS // 4
        end = min(len(text), start + FRAGMENT_CHARS)
        out, pos = [], start
        while i < len(spans) and spans[i][0] < end:
            s, e = spans[i]
            e = min(e, end)
            out.append(html.escape(text[pos:s]))
            out.append(f"<mark>{html.escape(text[s:e])}</mark>")
            pos = e
            i += 1
        out.append(html.escape(text[pos:end]))
        fragments.append("".join(out))
    return fragments
