"""Which int8 weight type the ONNX export uses on this CPU.

onnxruntime's dynamically quantised MatMul multiplies uint8 activations by the weights. With int8
weights, x86 CPUs that have VNNI (AVX512-VNNI) use VPDPBUSD, exact and the fastest; CPUs without
it (AVX2, early AVX-512: many cloud machines) use VPMADDUBSW, whose int16 pair sums saturate, and
the tiny spread checkpoint's scores drifted up to 0.096 from detoxify's there. uint8 weights take
a kernel that widens to int16 first and never saturates, on every CPU, but cost ~1.7x the time of
int8 weights on a VNNI CPU. So: int8 weights where VNNI is present, uint8 everywhere else. 7-bit
int8 weights (``reduce_range``) also avoid the saturation but changed 5 of 240 publish/hold/reject
decisions against uint8's 1.

The choice is part of the export's cache key, so an export made on one kind of CPU is never loaded
on the other kind from a shared cache. The CPU is read through numpy's CPUID probe (what the
process really runs on, also under an emulator), not /proc/cpuinfo.
"""

from __future__ import annotations

import importlib

from .config import ToxicitySettings

INT8 = "int8"
UINT8 = "uint8"


def has_vnni() -> bool:
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):  # numpy 2, 1
        try:
            features = importlib.import_module(name).__cpu_features__
        except (ImportError, AttributeError):
            continue
        return bool(features.get("AVX512VNNI"))
    return False


def weight_type(settings: ToxicitySettings) -> str:
    """The configured weight type; for "auto", ``int8`` on a CPU whose int8 kernel is exact
    (VNNI), else ``uint8``."""
    if settings.int8_weights != "auto":
        return settings.int8_weights
    return INT8 if has_vnni() else UINT8
