"""Babel extractors (registered in pyproject.toml [tool.babel]; docs/translating.md).

``extract_python`` reads the syntax tree instead of Babel's token scan: ``tr("a" if x else "b")``
yields both ids (Babel's own extractor glues the two strings into one id that does not exist),
and a call whose id is built at run time yields nothing - such ids are listed with ``N_()`` where
they are built. ``extract_kv`` finds the same calls in Kivy language files, which are not Python as
a whole (rules, ``#:`` directives, indentation-scoped properties) but whose calls are.
"""

from __future__ import annotations

import ast
import io
import itertools
import tokenize
from collections.abc import Collection, Iterator
from typing import IO, Any

Found = tuple[int, str, str | tuple[str | None, ...], list[str]]


def _ids(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _ids(node.body)
        yield from _ids(node.orelse)


def _comments(source: str, tags: Collection[str]) -> dict[int, str]:
    found = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            text = tok.string.lstrip("#").strip()
            if any(text.startswith(tag) for tag in tags):
                found[tok.start[0]] = text
    return found


def _calls(tree: ast.AST, keywords: Collection[str], comments: dict[int, str], line: int = 0) -> Iterator[Found]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name not in keywords:
            continue
        lineno = line or node.lineno
        # a "Translators:" comment on the line of the call or the line above reaches the PO file
        note = [c for c in (comments.get(lineno - 1), comments.get(lineno)) if c]
        # Babel picks the id among the arguments by the keyword's spec (translate:2); a conditional
        # argument gives one message per branch
        for messages in itertools.product(*[list(_ids(arg)) or [None] for arg in node.args]):
            yield lineno, name, messages, note


def extract_python(fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str],
                   options: dict[str, Any]) -> Iterator[Found]:
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    comments = _comments(source, comment_tags) if comment_tags else {}
    yield from _calls(ast.parse(source), keywords, comments)


def extract_kv(fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str],
               options: dict[str, Any]) -> Iterator[Found]:
    # A property's value (``text: app.tr('a' if x else 'b')``) is a Python expression: parsed as
    # one, its calls give their ids as in a .py file. Rule headers, directives and canvas
    # instructions are not expressions and give nothing.
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    for lineno, line in enumerate(text.splitlines(), 1):
        _name, colon, value = line.partition(":")
        if not colon or line.lstrip().startswith("#") or not value.strip():
            continue
        try:
            tree = ast.parse(value.strip(), mode="eval")
        except SyntaxError:
            continue
        yield from _calls(tree, keywords, {}, lineno)
