"""Text analytics: language, sentiment, emotion, topics, personal data and semantic search over
every free text customers send (``docs/text.md``).

The notebook surface is ``ws.text`` (:class:`TextAnalytics`); the pieces below work without a
workspace.
"""

from cxm.text.analysis import TextAnalysis, analyse_texts, check_text
from cxm.text.analytics import TextAnalytics
from cxm.text.enrich import EnrichReport, do_enrich_texts
from cxm.text.language import Language, detect_languages
from cxm.text.redaction import (
    PII_KINDS,
    PiiSpan,
    find_pii,
    inn_ok,
    luhn_ok,
    pesel_ok,
    redact,
    redact_value,
)
from cxm.text.sentiment import Sentiment, SentimentModel, load_model, sentiment_model
from cxm.text.topic_store import (
    DiscoveryReport,
    do_discover_topics,
    do_merge_topics,
    do_pin_topic,
    do_rename_topic,
)
from cxm.text.training import evaluate_sentiment, read_labelled_csv, train_sentiment

__all__ = [
    "PII_KINDS", "DiscoveryReport", "EnrichReport", "Language", "PiiSpan", "Sentiment",
    "SentimentModel", "TextAnalysis", "TextAnalytics", "analyse_texts", "check_text",
    "detect_languages", "do_discover_topics", "do_enrich_texts", "do_merge_topics",
    "do_pin_topic", "do_rename_topic", "evaluate_sentiment", "find_pii", "inn_ok",
    "load_model", "luhn_ok", "pesel_ok", "read_labelled_csv", "redact", "redact_value",
    "sentiment_model", "train_sentiment",
]  # fmt: skip
