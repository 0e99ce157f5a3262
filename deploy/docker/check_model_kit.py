"""Checks a model kit while a worker image is built (Dockerfile, target worker-with-model).

    python check_model_kit.py MODEL_DIR [int8|uint8|auto]

Exit 0 when MODEL_DIR is a complete kit that the image's non-root user can read: the manifest,
the checkpoint at its recorded size, the config, and the ONNX export for every CPU kind the image
may meet ("auto", the default: int8 for CPUs with VNNI and uint8 for the others, both of which
`comments-service model export` builds). Otherwise exit 1 and say what is missing and which
command makes it: a worker started from an incomplete kit would export or download at start,
which a locked-down cluster cannot do.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import msgspec

from comments_service.toxicity.config import ToxicitySettings
from comments_service.toxicity.model_kit import check_model_files, resolve_model_dir
from comments_service.toxicity.onnx_cache import find_export

WEIGHT_KINDS = ("int8", "uint8")
HOW = ("make the kit with `comments-service model fetch --dir DIR` and `comments-service model export "
       "--dir DIR`, then build with --target worker-with-model --build-context model-kit=DIR")


def unreadable_for_others(root: Path) -> list[str]:
    """Files and folders the image's user cannot read: the kit is copied in owned by root."""
    found = []
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            mode = (Path(folder) / name).stat().st_mode
            if mode & (stat.S_IROTH | stat.S_IXOTH) != (stat.S_IROTH | stat.S_IXOTH):
                found.append(str(Path(folder) / name) + "/")
        for name in files:
            if not (Path(folder) / name).stat().st_mode & stat.S_IROTH:
                found.append(str(Path(folder) / name))
    return found


def problems(model_dir: str, weights: str = "auto") -> list[str]:
    settings = ToxicitySettings(model_dir=model_dir)
    if (problem := check_model_files(settings)) is not None:
        return [problem]
    resolved = resolve_model_dir(settings)
    kinds = WEIGHT_KINDS if weights == "auto" else (weights,)
    found = []
    missing = [kind for kind in kinds
               if find_export(msgspec.structs.replace(resolved, int8_weights=kind)) is None]
    if missing:
        found.append(f"{model_dir} has no ONNX export for {' and '.join(missing)} weights (a worker would "
                     "export at start, needing GBs of memory and a writable model dir)")
    if unreadable := unreadable_for_others(Path(model_dir)):
        found.append(f"not readable by the image's user: {', '.join(unreadable[:5])} "
                     f"(run `chmod -R a+rX` on the kit before building)")
    return found


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] not in ("auto", *WEIGHT_KINDS)):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    model_dir, weights = argv[1], (argv[2] if len(argv) == 3 else "auto")
    if not Path(model_dir, "model.json").is_file():
        print(f"model kit: {model_dir} holds no model.json: no --build-context model-kit=DIR given, or DIR is "
              f"not a model kit; {HOW}", file=sys.stderr)
        return 1
    if found := problems(model_dir, weights):
        for line in found:
            print(f"model kit: {line}", file=sys.stderr)
        print(f"model kit: {HOW}", file=sys.stderr)
        return 1
    print(f"model kit: {model_dir} is complete ({weights} weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
