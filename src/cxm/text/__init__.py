"""Text analytics: personal data in free text (found and redacted); language, sentiment,
emotion and topics come with the text analytics issue."""

from cxm.text.redaction import PII_KINDS, PiiSpan, find_pii, inn_ok, luhn_ok, pesel_ok, redact

__all__ = ["PII_KINDS", "PiiSpan", "find_pii", "inn_ok", "luhn_ok", "pesel_ok", "redact"]
