"""Near-duplicate detection: fingerprints of a story's words and the decisions made on them."""


from monitor.dedup.fingerprint import MIN_SHINGLES, Fingerprint, Fingerprinter

__all__ = [
    "Fingerprint",
    "Fingerprinter",
    "MIN_SHINGLES",
]
