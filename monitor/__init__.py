"""Media monitor: polls news feeds, matches rules, alerts once per story."""

__version__ = "0.1.0"
