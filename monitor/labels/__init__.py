"""Human labels for news: the record (`records`), label files in and out (`files`), the review queue's order
(`queue`), their Elasticsearch index (`store`), and `finmon labels bench` (`bench`)."""
