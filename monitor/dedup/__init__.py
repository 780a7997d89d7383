"""Near-duplicate detection: fingerprints of a story's words and the decisions made on them."""


from monitor.dedup.fingerprint import FINGERPRINT_VERSION, MIN_SHINGLES, Fingerprint, Fingerprinter, identifiers

__all__ = [
    "FINGERPRINT_VERSION",
    "Fingerprint",
    "Fingerprinter",
    "MIN_SHINGLES",
    "identifiers",
]
