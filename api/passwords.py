"""Which new passwords are refused, besides short ones: common ones (the bundled
``common_passwords.txt``, also with digits or symbols added around a listed word), ones of
few distinct characters or one keyboard or digit run (``aaaaaaaaaa``, ``1234567890``,
``qwertyuiop``), and ones like the user's name. Each refusal says why, in Chinese first."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import cache
from importlib import resources

MIN_DISTINCT = 5
# Runs people type: digits, the alphabet and keyboard rows, forwards and backwards.
_RUNS = ("01234567890", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_AROUND = re.compile(r"^[\d\W_]*(.*?)[\d\W_]*$")


@cache
def common() -> frozenset[str]:
    text = resources.files("api").joinpath("common_passwords.txt").read_text("utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _is_run(text: str) -> bool:
    return any(text in run * 3 or text in run[::-1] * 3 for run in _RUNS)


def _repeats(text: str) -> bool:
    """One short piece said over and over (``abcabcabca``, ``1212121212``)."""
    return any(
        (text[:n] * (len(text) // n + 1)).startswith(text) for n in range(1, len(text) // 2 + 1)
    )


def weakness(password: str, name: str, display_name: str = "") -> str | None:
    """Why ``password`` is too weak for the user ``name``, or None."""
    low = password.lower()
    base = _AROUND.sub(r"\1", low)
    words = common()
    if low in words or (base and base in words) or _is_run(low) or _repeats(low):
        return (
            "密码太常见或有规律，容易被猜中，请换一个 (the password is common or a simple pattern)"
        )
    if len(set(low)) < MIN_DISTINCT:
        return (
            f"密码至少要有 {MIN_DISTINCT} 个不同的字符 "
            f"(the password needs at least {MIN_DISTINCT} different characters)"
        )
    squeezed = re.sub(r"[\W_]", "", low)
    for who in {name.lower(), display_name.strip().lower()} - {""}:
        plain = re.sub(r"[\W_]", "", who)
        if not plain:
            continue
        near = SequenceMatcher(None, squeezed, plain).ratio() >= 0.6
        if (len(plain) >= 3 and (plain in squeezed or plain[::-1] in squeezed)) or near:
            return "密码与用户名过于相似，请换一个 (the password is too like the user name)"
    return None
