"""Deployment keys: the one static bearer key an agent build carries (Giga Meter)."""
