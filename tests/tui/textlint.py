"""A static pass over the TUI's code: where a value could reach the screen as markup, or as
control characters, without going through ``console.text.plain`` (console/text.py says why).

It reads every module of console/ but the command line (console/commands, console/cli.py,
which print to a terminal the TUI does not own) and reports, per call site:

* a **markup sink** (``Static``, ``Label``, ``Button``, ``Checkbox``, ``Option``, ``update``,
  ``add_row``, ``add_column``, ``update_cell``, the palette's ``Hit`` / ``DiscoveryHit``) given
  a ``str`` built from values: an f-string with a non-numeric field, ``+`` / ``%`` / ``.format``
  / ``.join`` / ``str()`` of something, or a name, ``self.`` attribute or call that the code
  says is a ``str`` (a parameter or return annotated ``str``, an assignment of such a string);
* a **Text sink** (``Text(…)``, ``Text.assemble``, ``Text.append``, ``Text.from_markup``,
  ``Content(…)``, ``Content.from_markup``) given anything but a constant: Text is literal but
  passes control characters through, ``plain`` shows them;
* an ``Input`` started with a value but without ``highlighter=VISIBLE_CONTROLS``.

What the code cannot tell (a value read from an object of another module) is left to the
screen tests, which feed hostile values through every field (tests/tui/test_text_is_text.py).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
EXCLUDED = ("commands/", "cli.py")

MARKUP_SINKS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    # name: (positional argument indexes that are text, keyword names that are text); -1: every positional
    "Static": ((0,), ("content",)), "Label": ((0,), ("content",)), "Button": ((0,), ("label",)),
    "Checkbox": ((0,), ("label",)), "RadioButton": ((0,), ("label",)), "Option": ((0,), ("prompt",)),
    "TabPane": ((0,), ("title",)), "Collapsible": ((), ("title",)),
    "update": ((0,), ()), "add_row": ((-1,), ("label",)), "add_column": ((0,), ("label", "header")),
    "update_cell": ((2,), ("value",)), "update_cell_at": ((1,), ("value",)),
    "Hit": ((1,), ("help",)), "DiscoveryHit": ((0,), ("help",)),
}
TEXT_SINKS = {"Text", "Content"}
MARKUP_PARSERS = {"from_markup"}
SAFE_CALLS = {"plain", "palette_match", "markup_escaped", "Text", "Table", "Content", "Group", "Padding", "Panel",
              "visible"}
"""Calls whose result is screen-safe text (``visible`` is safe inside a Text only: see TEXT_SINKS)."""
STR_METHODS = {"format", "join", "strip", "lstrip", "rstrip", "replace", "upper", "lower", "capitalize", "title",
               "removeprefix", "removesuffix", "ljust", "rjust", "center", "casefold", "expandtabs", "zfill"}
STR_CALLS = {"str", "repr", "format", "ascii"}
NUMERIC_SPEC = set("0123456789,._%dfeEgGnxXob+- ")

CONST, TEXT, OPAQUE, STR = range(4)
"""How much is known of an expression's value: a constant, screen-safe text, unknown, a str built from values."""


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    call: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.call}: {self.why}"


def _annotation_kind(node: ast.expr | None) -> int:
    if node is None:
        return OPAQUE
    text = ast.unparse(node)
    parts = {part.strip() for part in text.replace("|", ",").replace("Optional[", "").rstrip("]").split(",")}
    parts.discard("None")
    if parts and parts <= {"str"}:
        return STR
    if parts and parts <= {"Text", "Table", "Content", "RenderableType", "Visual", "VisualType"}:
        return TEXT
    return OPAQUE


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


class ModuleLint(ast.NodeVisitor):
    def __init__(self, path: Path, tree: ast.Module, returns: dict[str, int]) -> None:
        self.path = str(path.relative_to(ROOT))
        self.tree = tree
        self.returns = returns
        self.violations: list[Violation] = []
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.classes: list[ast.ClassDef] = []

    # -- scopes ---------------------------------------------------------------------------
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node)
        self.generic_visit(node)
        self.classes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    # -- what an expression is -------------------------------------------------------------
    def kind(self, node: ast.expr | None, seen: frozenset[str] = frozenset()) -> int:
        if node is None:
            return CONST
        if isinstance(node, ast.Constant):
            return CONST
        if isinstance(node, ast.JoinedStr):
            fields = [v for v in node.values if isinstance(v, ast.FormattedValue)]
            numeric = all(v.format_spec is not None and set(ast.unparse(v.format_spec)) - {"'", '"', "f"} <= NUMERIC_SPEC
                          for v in fields)
            return CONST if not fields or numeric else STR
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            left, right = self.kind(node.left, seen), self.kind(node.right, seen)
            if TEXT in (left, right):
                return max(left, right) if STR in (left, right) else TEXT
            if (left, right) == (CONST, CONST):
                return CONST
            return STR if STR in (left, right) or isinstance(node.op, ast.Mod) or _is_str_constant(node.left) \
                or _is_str_constant(node.right) else OPAQUE
        if isinstance(node, ast.IfExp):
            return max(self.kind(node.body, seen), self.kind(node.orelse, seen))
        if isinstance(node, ast.BoolOp):
            return max(self.kind(value, seen) for value in node.values)
        if isinstance(node, ast.Call):
            name = _call_name(node.func)
            if name in SAFE_CALLS:
                return TEXT
            if name in STR_CALLS and isinstance(node.func, ast.Name):
                return CONST if all(self.kind(a, seen) == CONST for a in node.args) else STR
            if name in STR_METHODS and isinstance(node.func, ast.Attribute):
                if self.kind(node.func.value, seen) == TEXT:
                    return TEXT  # Text.join and the like
                return STR if not isinstance(node.func.value, ast.Constant) or any(
                    not isinstance(a, ast.Constant) for a in node.args) else CONST
            if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
                    and node.func.value.id == "self" and self.classes:
                for item in self.classes[-1].body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == name:
                        return _annotation_kind(item.returns)
            return self.returns.get(name, OPAQUE)
        if isinstance(node, ast.Name):
            return self._name_kind(node.id, seen)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            return self._attribute_kind(node.attr, seen)
        return OPAQUE

    def _name_kind(self, name: str, seen: frozenset[str]) -> int:
        if name in seen:
            return OPAQUE
        if self.functions:
            function = self.functions[-1]
            args = function.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                if arg.arg == name:
                    return _annotation_kind(arg.annotation)
            kinds = [self.kind(value, seen | {name}) for value in _assignments(function, name)]
            if kinds:
                return max(kinds)
        module = [node.value for node in self.tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                  and node.value is not None and any(isinstance(t, ast.Name) and t.id == name
                                                     for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))]
        kinds = [self.kind(value, seen | {name}) for value in module]
        return max(kinds) if kinds else OPAQUE

    def _attribute_kind(self, attr: str, seen: frozenset[str]) -> int:
        key = f"self.{attr}"
        if key in seen or not self.classes:
            return OPAQUE
        kinds: list[int] = []
        for item in self.classes[-1].body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.target.id == attr:
                kinds.append(_annotation_kind(item.annotation))
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for target, value in _self_assignments(item, attr):
                    self.functions.append(item)
                    try:
                        kinds.append(_annotation_kind(target.annotation) if isinstance(target, ast.AnnAssign)
                                     else self.kind(value, seen | {key}))
                    finally:
                        self.functions.pop()
        return max(kinds) if kinds else OPAQUE

    # -- the checks ------------------------------------------------------------------------
    def report(self, node: ast.AST, call: str, why: str) -> None:
        self.violations.append(Violation(self.path, getattr(node, "lineno", 0), call, why))

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node.func)
        if name in MARKUP_SINKS:
            self._markup_sink(node, name)
        if name in TEXT_SINKS and isinstance(node.func, ast.Name) and node.args:
            if self.kind(node.args[0]) != CONST and not _calls(node.args[0], "visible"):
                self.report(node, ast.unparse(node)[:80], f"{name}() of a value: use plain() (control characters)")
        if name in MARKUP_PARSERS and node.args and self.kind(node.args[0]) != CONST:
            self.report(node, ast.unparse(node)[:80], "markup parsed from a value")
        if name == "assemble":
            for part in node.args:
                text = part.elts[0] if isinstance(part, ast.Tuple) and part.elts else part
                if self.kind(text) in (STR, OPAQUE) and not isinstance(text, ast.Call):
                    if self.kind(text) == STR or isinstance(part, ast.Tuple):
                        self.report(node, ast.unparse(node)[:80], "Text.assemble of a value: use plain()")
        if name == "append" and isinstance(node.func, ast.Attribute) and self._is_text_append(node):
            if node.args and self.kind(node.args[0]) in (STR,) + ((OPAQUE,) if len(node.args) > 1 or node.keywords else ()):
                self.report(node, ast.unparse(node)[:80], "Text.append of a value: append plain(value, style)")
        if name == "Input" and isinstance(node.func, ast.Name):
            value = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "value"), None)
            if value is not None and self.kind(value) != CONST and not any(k.arg == "highlighter" for k in node.keywords):
                self.report(node, ast.unparse(node)[:80], "an Input started with a value needs highlighter=VISIBLE_CONTROLS")
        self.generic_visit(node)

    def _markup_sink(self, node: ast.Call, name: str) -> None:
        positions, keywords = MARKUP_SINKS[name]
        texts = list(node.args) if -1 in positions else [node.args[i] for i in positions if i < len(node.args)]
        texts += [k.value for k in node.keywords if k.arg in keywords]
        for text in texts:
            if isinstance(text, ast.Starred):
                text = text.value
            if self.kind(text) == STR:
                self.report(node, ast.unparse(node)[:80], f"a str built from values given to {name}: use plain()")

    def _is_text_append(self, node: ast.Call) -> bool:
        """``x.append(…)`` on a rich Text: two arguments or a style, or ``x`` known to be a Text."""
        if len(node.args) == 2 or any(k.arg == "style" for k in node.keywords):
            return True
        receiver = node.func.value  # type: ignore[attr-defined]
        return self.kind(receiver) == TEXT


def _is_str_constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _calls(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Call) and _call_name(node.func) == name


def _assignments(function: ast.AST, name: str) -> list[ast.expr]:
    values: list[ast.expr] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            values.append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name \
                and node.value is not None:
            values.append(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            values.append(ast.BinOp(ast.Name(name), node.op, node.value))
        elif isinstance(node, ast.NamedExpr) and node.target.id == name:
            values.append(node.value)
    return values


def _self_assignments(function: ast.AST, attr: str) -> list[tuple[ast.AST, ast.expr]]:
    found: list[tuple[ast.AST, ast.expr]] = []
    for node in ast.walk(function):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) and node.value is not None else []
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr == attr and isinstance(target.value, ast.Name) \
                    and target.value.id == "self":
                found.append((node, node.value))  # type: ignore[attr-defined]
            elif isinstance(target, ast.Tuple) and isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
                for sub, value in zip(target.elts, node.value.elts):
                    if isinstance(sub, ast.Attribute) and sub.attr == attr:
                        found.append((node, value))
    return found


def modules() -> list[Path]:
    return sorted(path for path in CONSOLE.rglob("*.py")
                  if not any(str(path.relative_to(CONSOLE)).startswith(prefix) for prefix in EXCLUDED))


def return_kinds(trees: list[ast.Module]) -> dict[str, int]:
    """What each function of console/ returns, by its name and annotation (the worst of
    two functions of one name)."""
    kinds: dict[str, int] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                kind = _annotation_kind(node.returns)
                kinds[node.name] = max(kinds.get(node.name, CONST), kind)
    return kinds


def violations() -> list[Violation]:
    paths = modules()
    trees = [ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in paths]
    returns = return_kinds(trees)
    found: list[Violation] = []
    for path, tree in zip(paths, trees):
        lint = ModuleLint(path, tree, returns)
        lint.visit(tree)
        found += lint.violations
    return found


if __name__ == "__main__":
    for violation in violations():
        print(violation)
