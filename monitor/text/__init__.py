"""Text in every script: HTML to plain text, the one tokenizer (what a word is), and the highlighter."""


from monitor.text.excerpt import quote
from monitor.text.highlight import highlight
from monitor.text.html import clean_text, html_to_text, truncate
from monitor.text.tokens import (
    WORD,
    exact_words,
    fold,
    folded_words,
    plain_ascii,
    tokens,
    unspaced,
    word_spans,
    word_start,
    words,
)

__all__ = [
    "WORD",
    "clean_text",
    "exact_words",
    "fold",
    "folded_words",
    "highlight",
    "html_to_text",
    "plain_ascii",
    "quote",
    "tokens",
    "truncate",
    "unspaced",
    "word_spans",
    "word_start",
    "words",
]
