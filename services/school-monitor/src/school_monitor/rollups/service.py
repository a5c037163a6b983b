"""The country counters as the school registry moves them (a school created or imported
counts as unknown until it has data); written in the lock order of the ingestion writer."""

from school_monitor.ingestion.derive import StatsDelta
from school_monitor.ingestion.writer import add_country_stats as apply_stats

__all__ = ["StatsDelta", "apply_stats"]
