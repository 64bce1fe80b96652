"""The media workers know the sfu and the settings, nothing of signalling, routing, the store or the web."""

import ast
import pathlib

import vidzzle_media.workers as workers

FORBIDDEN = ("signalling", "routing", "store", "admin", "services", "api", "app", "clients")


def test_workers_import_no_higher_layer():
    for path in pathlib.Path(workers.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                top = (node.module or "").split(".")[0]
                assert top not in FORBIDDEN, f"{path.name} imports ..{node.module}"
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for name in names:
                    parts = name.split(".")
                    assert not (parts[0] == "vidzzle_media" and len(parts) > 1 and parts[1] in FORBIDDEN), name
