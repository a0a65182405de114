"""segsim ingestion layer."""
