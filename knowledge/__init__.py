"""The knowledge store: Chroma, retrieval, evidence extraction and reference vocabularies."""
