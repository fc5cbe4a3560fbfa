"""Ingestion: polite scheduled feed scraping → normalised, deduplicated, story-linked NewsItems → news.raw."""
