"""What Giga Maps and other readers pull from the Giga Meter-compatible API."""
