"""Guideline PDFs into the knowledge store: read pages, chunk, embed, write."""
