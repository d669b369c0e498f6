"""Offline by construction: switch off every hub download, telemetry and tracing path.

Called first thing at each entry point (CLI, app factory, tests), before chromadb,
transformers or sentence-transformers are imported, because some of them read these
variables at import time.
"""

from __future__ import annotations

import os

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # Chroma's posthog client
    "CHROMA_TELEMETRY_IMPL": "",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def enforce_offline() -> None:
    """Force the offline switches, overriding anything inherited from the shell."""
    os.environ.update(OFFLINE_ENVIRONMENT)
