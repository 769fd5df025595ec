"""Text helpers both backends share, so search behaves the same on each."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Han ideographs (with extension A and compatibility forms): one token per character,
# the way Elasticsearch's standard tokenizer splits them, so a phrase of characters
# is a substring match on both backends.
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


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
