"""The llama.cpp load options clinsynth sets beyond llama_cpp.Llama's arguments."""

from __future__ import annotations

import llama_cpp

from models.llamacpp import cpu_has_amx, model_params, use_extra_buffers

SAPPHIRE = "processor\t: 0\nflags\t\t: fpu avx2 avx512f amx_bf16 amx_tile amx_int8\n"
ZEN = "processor\t: 0\nflags\t\t: fpu avx2 avx512f\n"


def test_amx_is_read_from_the_cpu_flags(tmp_path):
    with_amx, without = tmp_path / "a", tmp_path / "b"
    with_amx.write_text(SAPPHIRE)
    without.write_text(ZEN)
    assert cpu_has_amx(with_amx) and not cpu_has_amx(without)
    assert not cpu_has_amx(tmp_path / "missing")  # not Linux: no AMX path to avoid


def test_auto_turns_extra_buffers_off_only_on_amx():
    assert use_extra_buffers("auto", amx=False)
    assert not use_extra_buffers("auto", amx=True)
    assert use_extra_buffers("on", amx=True) and not use_extra_buffers("off", amx=False)


def test_model_params_sets_fields_for_one_load_then_restores_the_defaults():
    default = llama_cpp.llama_cpp.llama_model_default_params
    assert default().use_extra_bufts
    with model_params(use_extra_bufts=False):
        assert not llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts
    assert llama_cpp.llama_cpp.llama_model_default_params is default
    assert default().use_extra_bufts
