"""Elasticsearch: the client and sink, index mappings and index setup."""
