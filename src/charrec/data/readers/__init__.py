"""Readers: one per file format, each returning arrays or an ImageSet in canonical form."""
