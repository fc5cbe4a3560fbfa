"""The stream worker: news.raw → batches → scoring → Elasticsearch, news.scored and news.dlq."""
