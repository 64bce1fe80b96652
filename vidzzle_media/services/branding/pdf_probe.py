"""Open a PDF and render its first page, in a throw-away child process.

Run as ``python -m vidzzle_media.services.branding.pdf_probe PDF THUMB.png MAX_PAGES
CPU_S MEMORY_BYTES`` by services/presentations.py with a wall-clock timeout;
the child first limits its own CPU time and address space (setrlimit; no
preexec_fn, which is unsafe in the threaded parent), so a hostile PDF can at worst kill this child. Prints
one JSON line: ``{"pages": N}`` or ``{"error": "..."}``; exit status 0/2.
"""

from __future__ import annotations

import json
import resource
import sys

THUMB_WIDTH = 320


def probe(pdf_path: str, thumb_path: str, max_pages: int, pages_dir: str = "",
          max_output: int = 200 * 1024 * 1024) -> dict:
    """Check the PDF, write the thumbnail of page 1 and, with ``pages_dir``,
    every page as the call shows it (pdf_pages.letterboxed at the video
    size): the only place a tenant's PDF is ever rendered, under this
    process's CPU and memory limits; ``max_output`` bounds the images.

    pymupdf is imported here, after ``main`` set the limits, so that even
    loading the PDF library happens inside them (the one import inside a
    function in services/)."""
    import pymupdf

    from ... import pdf_pages
    pymupdf.TOOLS.mupdf_display_errors(False)
    try:
        doc = pymupdf.open(pdf_path, filetype="pdf")
    except Exception as exc:   # any parser failure = not a usable PDF
        return {"error": "unreadable", "detail": type(exc).__name__}
    with doc:
        try:
            if doc.needs_pass or doc.is_encrypted:
                return {"error": "password"}
            pages = doc.page_count
        except Exception as exc:   # a broken page tree (found by bench/fuzz.py: "Invalid number of pages")
            return {"error": "unreadable", "detail": type(exc).__name__}
        if pages < 1:
            return {"error": "no_pages"}
        if pages > max_pages:
            return {"error": "too_many_pages", "pages": pages, "max": max_pages}
        try:
            page = doc.load_page(0)
            zoom = THUMB_WIDTH / max(page.rect.width, 1)
            pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
            pixmap.save(thumb_path, output="png")
        except Exception as exc:
            return {"error": "render", "detail": type(exc).__name__}
        written = 0
        if pages_dir:
            width, height = pdf_pages.VIDEO_SIZE
            for index in range(pages):
                try:
                    image = pdf_pages.letterboxed(doc.load_page(index), width, height)
                    target = pdf_pages.page_file(pages_dir, index)
                    image.save(str(target), output="png")
                except Exception as exc:
                    return {"error": "render_page", "page": index + 1, "detail": type(exc).__name__}
                written += target.stat().st_size
                if written > max_output:
                    return {"error": "too_large_output"}
    return {"pages": pages}


def limit(cpu_s: int, memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str]) -> int:
    limit(int(argv[3]), int(argv[4]))
    try:
        result = probe(argv[0], argv[1], int(argv[2]), argv[5] if len(argv) > 5 else "")
    except MemoryError:
        result = {"error": "memory"}
    print(json.dumps(result), flush=True)
    return 2 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
