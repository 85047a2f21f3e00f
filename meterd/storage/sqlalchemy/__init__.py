"""Building blocks of the SQLAlchemy Core driver (tables, filters, statistics, queries)."""
