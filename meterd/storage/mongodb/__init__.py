"""Building blocks of the pymongo driver (escaping, schema, writes, reads, statistics, queries)."""
