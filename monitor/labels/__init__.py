"""Human labels for news: the record (`records`), label files in and out (`files`), their Elasticsearch index
(`store`)."""
