"""The record blocks: one module per block of the record, and what they share (base)."""
