"""Extraction forms, values and consensus live here (built on screening)."""
