"""Text in every script: HTML to plain text, and the one tokenizer (what a word is)."""


from monitor.text.excerpt import quote
from monitor.text.html import clean_text, html_to_text, truncate
from monitor.text.tokens import (
    WORD,
    exact_words,
    fold,
    folded_words,
    plain_ascii,
    tokens,
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
    "html_to_text",
    "plain_ascii",
    "quote",
    "tokens",
    "truncate",
    "word_spans",
    "word_start",
    "words",
]
