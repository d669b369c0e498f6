"""llama-cpp-python's OpenAI-compatible server, loading models with clinsynth's llama.cpp options.

    python -m service.llama_server --model model.gguf --host 127.0.0.1 --port 8080

Takes the arguments of ``python -m llama_cpp.server``. The difference is the load option
``CLINSYNTH_LLM_EXTRA_BUFFERS`` (auto, on, off; see ``models.llamacpp.use_extra_buffers``):
on a CPU with AMX, llama-cpp-python 0.3.36's own server crashes on its first request.
"""

from __future__ import annotations

import sys

from llama_cpp.server.__main__ import main as server_main

from models.llamacpp import model_params, use_extra_buffers
from service.settings import Settings


def main() -> None:
    try:
        setting = Settings().llm.extra_buffers
    except ValueError as exc:  # as `clinsynth` reports it
        sys.exit(f"error: invalid configuration: {exc}")
    with model_params(use_extra_bufts=use_extra_buffers(setting)):
        server_main()


if __name__ == "__main__":
    main()
