"""The report as one self-contained HTML page: the Markdown rendered by the `markdown` package, every
image embedded as a data URI, so the file opens offline and can be mailed or attached as it is."""

import base64
import html
import re
from pathlib import Path

import markdown

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; display: block; overflow-x: auto; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: left; white-space: nowrap; }
th { background: #eef2f7; }
tr:nth-child(even) td { background: #f8f8f8; }
img { max-width: 100%; border: 1px solid #ddd; }
code { background: #f2f2f2; padding: 0 0.2em; }
"""
IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def embed_images(body: str, folder: Path) -> str:
    """Replace each <img src="relative/path"> whose file exists under `folder` by a data URI."""

    def inline(match: re.Match) -> str:
        path = folder / html.unescape(match.group(2))
        kind = IMAGE_TYPES.get(path.suffix.lower())
        if kind is None or not path.is_file():
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'{match.group(1)}data:{kind};base64,{data}"'

    return re.sub(r'(<img[^>]*\ssrc=")([^":]+)"', inline, body)


def escape_angle_brackets(markdown_text: str) -> str:
    """`<` outside code spans as text: the report writes `test_f<beta>`, which Markdown would pass on as a tag
    (code spans, between backticks, are escaped by Markdown itself)."""
    parts = markdown_text.split("`")
    return "`".join(part if index % 2 else part.replace("<", "&lt;") for index, part in enumerate(parts))


def html_page(title: str, markdown_text: str, folder: Path) -> str:
    """The page for `markdown_text`, whose image links are relative to `folder`."""
    body = markdown.markdown(escape_angle_brackets(markdown_text), extensions=["tables"])
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n{embed_images(body, folder)}\n</body></html>\n"
    )
