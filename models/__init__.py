"""LLM backends behind one small interface (see ``models.base``)."""
