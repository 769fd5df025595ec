"""The one place untrusted text becomes markup: whatever a crawled page holds, what comes
out of :mod:`rules.highlight` is its text, escaped, with only ``<mark>`` added (HTML) or
with nothing a chat platform's markdown would act on (chat)."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.highlight import bracket, chat, chat_url, fragments, mark

# Text as hostile pages write it: tags, entities, quotes, markdown, and ordinary Chinese.
HOSTILE = st.lists(
    st.sampled_from(
        [*list("<>&\"'/=;:()[]*_`#~|!\\\n\t潼南起火 ascript"), "<script>", "&lt;", "javascript:"]
    ),
    max_size=40,
).map("".join)


def spans_for(text: str) -> st.SearchStrategy[list[tuple[int, int]]]:
    point = st.integers(min_value=-3, max_value=len(text) + 3)
    return st.lists(st.tuples(point, point), max_size=6)


def _tags(markup: str) -> set[str]:
    return set(re.findall(r"</?[^>]*>", markup))


@settings(max_examples=400)
@given(st.data())
def test_mark_adds_only_mark_tags_and_keeps_the_text(data: st.DataObject) -> None:
    text = data.draw(HOSTILE)
    spans = data.draw(spans_for(text))
    out = str(mark(text, spans))
    assert _tags(out) <= {"<mark>", "</mark>"}
    assert '"' not in out and "'" not in out  # nothing can close an attribute either
    assert html.unescape(out.replace("<mark>", "").replace("</mark>", "")) == text


@settings(max_examples=200)
@given(st.data())
def test_search_fragments_are_escaped_pieces_of_the_text(data: st.DataObject) -> None:
    text = data.draw(HOSTILE)
    spans = data.draw(spans_for(text))
    for fragment in fragments(text, spans):
        out = str(fragment)
        assert _tags(out) <= {"<mark>", "</mark>"}
        assert html.unescape(out.replace("<mark>", "").replace("</mark>", "")) in text


@settings(max_examples=300)
@given(st.data())
def test_chat_text_has_no_markdown_and_brackets_keep_the_text(data: st.DataObject) -> None:
    text = data.draw(HOSTILE)
    spans = data.draw(spans_for(text))
    out = chat(text, spans)
    assert not set(out) & set("[]()<>*_`#~|!&\\\n\r\t")
    plain = bracket(text, spans)
    assert plain.replace("【", "").replace("】", "") == text.replace("【", "").replace("】", "")


@given(HOSTILE)
def test_chat_links_are_http_only_and_cannot_break_out(url: str) -> None:
    for candidate in (url, "http://example.cn/" + url, "javascript:" + url):
        out = chat_url(candidate)
        if not candidate.lower().startswith(("http://", "https://")):
            assert out == ""
        else:
            assert not set(out) & set('()[]<>"` \n')
