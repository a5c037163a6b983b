"""Storage upkeep of the raw rows: monthly partitions, retention, pruning of UUID keys."""
