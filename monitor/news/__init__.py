"""A news item as finmon reads it: the schemas, stable ids and the decoder of raw messages."""
