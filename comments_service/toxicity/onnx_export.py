"""The ONNX export child: ``python -m comments_service.toxicity.onnx_export SETTINGS_JSON TARGET``.

Run by ``OnnxScorer`` on the first start for a checkpoint (``onnx_backend.export_in_child``):
loads the checkpoint with detoxify's code (downloading it first when the variant is not cached
yet), exports, optimises and quantises it into TARGET (``onnx_backend.build_onnx_int8``). torch,
the model and the export's peak memory live and die with this process; the worker then loads the
result without importing torch. Progress goes to stderr; exit status 0 when TARGET is complete.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from pathlib import Path


def _die_with_parent() -> None:
    """A worker killed mid-export takes this child with it (Linux PR_SET_PDEATHSIG): set here, not
    in a preexec_fn, which is unsafe in the worker's threaded process."""
    parent = os.environ.get("COMMENTS_TOXICITY_EXPORT_PARENT")
    if not parent:
        return
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # the worker died before the line above
        sys.exit("the worker that started this export is gone")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    _die_with_parent()
    # our progress lines; the libraries' INFO chatter (the quantiser logs every tensor) stays out
    # of the worker's log
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    logging.getLogger("comments_service").setLevel(logging.INFO)
    import msgspec

    from ..procmem import peak_rss_bytes
    from .base import ModelUnavailable
    from .config import ToxicitySettings
    from .onnx_backend import build_onnx_int8

    settings = msgspec.json.decode(argv[0], type=ToxicitySettings)
    start = time.perf_counter()
    try:
        meta = build_onnx_int8(settings, Path(argv[1]))
    except ModelUnavailable as exc:  # an expected failure (no checkpoint, no network): one line, no traceback
        print(f"ModelUnavailable: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"built in {time.perf_counter() - start:.1f}s (export {meta['export_seconds']}s, "
          f"optimised: {meta['optimized']}), peak RSS {peak_rss_bytes() / 2**20:.0f} MB", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
