"""Import every comments_service name the tree's bench scripts use, including the imports inside
functions and "module:attr" targets handed to uvicorn, so a renamed module fails here in a second
instead of minutes into a run. Run with cwd and PYTHONPATH = the tree."""

import ast
import importlib
import re
import sys
from pathlib import Path

tree = Path(sys.argv[1]).resolve()
import comments_service  # noqa: E402

assert Path(comments_service.__file__).resolve().is_relative_to(tree), comments_service.__file__
bad = []
for script in ("bench/reads.py", "bench/e2e_scoring.py", "bench/seed.py", "bench/b0.py"):
    src = tree / script
    for node in ast.walk(ast.parse(src.read_text())):
        targets = []
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("comments_service"):
            targets = [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = re.fullmatch(r"(comments_service[\w.]*):(\w+)", node.value)
            targets = [(m[1], m[2])] if m else []
            # code handed to a child interpreter (python -c "...")
            targets += re.findall(r"from (comments_service[\w.]*) import (\w+)", node.value)
        for module, name in targets:
            try:
                mod = importlib.import_module(module)
                if not hasattr(mod, name):
                    importlib.import_module(f"{module}.{name}")
            except Exception as exc:
                bad.append(f"{script}: {module}.{name}: {type(exc).__name__}: {exc}")
print("\n".join(bad) if bad else f"preflight ok: {tree}")
sys.exit(1 if bad else 0)
