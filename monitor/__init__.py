"""finmon: a streaming sentiment and topic monitor for financial news."""

__version__ = "0.1.0"
