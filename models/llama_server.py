"""llama-cpp-python's OpenAI-compatible server, loading models with clinsynth's llama.cpp options.

    python -m models.llama_server --model model.gguf --host 127.0.0.1 --port 8080

Takes the arguments of ``python -m llama_cpp.server``. The difference is the load option
``CLINSYNTH_LLM_EXTRA_BUFFERS`` (auto, on, off; see ``models.llamacpp.use_extra_buffers``):
on a CPU with AMX, llama-cpp-python 0.3.36's own server crashes on its first request.
"""

from __future__ import annotations

import os
import sys
from typing import get_args

from llama_cpp.server.__main__ import main as server_main

from models.llamacpp import ExtraBuffers, model_params, use_extra_buffers


def main() -> None:
    setting = os.environ.get("CLINSYNTH_LLM_EXTRA_BUFFERS", "auto").strip().lower()
    if setting not in get_args(ExtraBuffers):
        sys.exit(f"error: CLINSYNTH_LLM_EXTRA_BUFFERS must be auto, on or off, not {setting!r}")
    with model_params(use_extra_bufts=use_extra_buffers(setting)):  # type: ignore[arg-type]
        server_main()


if __name__ == "__main__":
    main()
