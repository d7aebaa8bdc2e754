"""Safe rule expressions: parsed and checked once, evaluated per reading and per batch.

Rule conditions (``when``/``clear``) are Python-syntax expressions evaluated by simpleeval
with a small whitelisted function set (``abs``, ``min``, ``max``, ``round``, ``between``);
:func:`compile_expr` refuses attribute access, subscripts, f-strings, assignments, imports,
lambdas and comprehensions before anything runs, so a rule file cannot run code.

Each expression is compiled once into three forms, all with simpleeval's semantics:

* the simpleeval tree (the reference; used for anything outside the two faster forms);
* nested closures over simpleeval's own operator table (``DEFAULT_OPERATORS``: same
  semantics, same length limits on ``*`` and ``+``) — about ten times cheaper per reading;
* a numpy form over numeric columns, used by the engine only as a batch PREFILTER (which
  readings may satisfy the condition); it may over-select, never miss.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpleeval

# -- safe expressions -------------------------------------------------------------------------


def _between(x: Any, low: Any, high: Any) -> bool:
    return bool(low <= x <= high)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "between": _between,
}
# Nodes refused on top of simpleeval's own limits: no attribute access, no subscripts, no
# f-strings (they reach attributes through format specs), no assignment, no imports.
_REFUSED = (
    ast.Attribute,
    ast.Subscript,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.Assign,
    ast.AugAssign,
    ast.Import,
)


def _evaluator() -> simpleeval.SimpleEval:
    ev = simpleeval.SimpleEval(functions=dict(FUNCTIONS), names={})
    for node in _REFUSED:
        ev.nodes.pop(node, None)
    return ev


Fast = Callable[[Mapping[str, Any]], Any]
Vec = Callable[[Mapping[str, Any]], Any]  # columns (numpy float arrays) → array or scalar


@dataclass(frozen=True)
class Expr:
    """A parsed expression: parsed once, evaluated many times with different names.

    Expressions made only of names, constants, comparisons, ``and``/``or``/``not``,
    arithmetic and the whitelisted calls — nearly every rule — are also compiled once into
    nested closures over simpleeval's own operator table (``DEFAULT_OPERATORS``: the same
    semantics and the same length limits on ``*`` and ``+``), about ten times cheaper than
    walking the tree per reading; anything else is evaluated by simpleeval itself.
    """

    source: str
    tree: ast.AST = field(repr=False, compare=False)
    names: frozenset[str] = frozenset()
    fast: Fast | None = field(default=None, repr=False, compare=False)
    vec: Vec | None = field(default=None, repr=False, compare=False)

    def __call__(self, ev: simpleeval.SimpleEval, names: Mapping[str, Any]) -> Any:
        if self.fast is not None:
            return self.fast(names)
        ev.names = names
        return ev.eval(self.source, previously_parsed=self.tree)


_OPS: dict[type, Callable[..., Any]] = simpleeval.DEFAULT_OPERATORS


def _fast(node: ast.AST) -> Fast | None:
    """Closures for the common subset of expressions; None when a node is outside it."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bytes):
            return None
        return lambda n: value
    if isinstance(node, ast.Name):
        key = node.id
        return lambda n: n[key]
    if isinstance(node, ast.BoolOp):
        parts = [_fast(v) for v in node.values]
        if any(x is None for x in parts):
            return None
        fns: list[Fast] = [x for x in parts if x is not None]
        if isinstance(node.op, ast.And):

            def all_of(n: Mapping[str, Any]) -> Any:
                value: Any = True
                for f in fns:
                    value = f(n)
                    if not value:
                        return value
                return value

            return all_of

        def any_of(n: Mapping[str, Any]) -> Any:
            value: Any = False
            for f in fns:
                value = f(n)
                if value:
                    return value
            return value

        return any_of
    if isinstance(node, ast.UnaryOp):
        unary = _OPS.get(type(node.op))
        inner = _fast(node.operand)
        if unary is None or inner is None:
            return None
        return lambda n: unary(inner(n))
    if isinstance(node, ast.BinOp):
        op = _OPS.get(type(node.op))
        left, right = _fast(node.left), _fast(node.right)
        if op is None or left is None or right is None:
            return None
        return lambda n: op(left(n), right(n))
    if isinstance(node, ast.Compare):
        first = _fast(node.left)
        ops = [_OPS.get(type(o)) for o in node.ops]
        rest = [_fast(c) for c in node.comparators]
        if first is None or any(o is None for o in ops) or any(r is None for r in rest):
            return None
        if len(ops) == 1:
            op0, right0 = ops[0], rest[0]
            assert op0 is not None and right0 is not None
            return lambda n: op0(first(n), right0(n))
        pairs = list(zip(ops, rest, strict=True))

        def chain(n: Mapping[str, Any]) -> bool:
            left = first(n)
            for op, f in pairs:
                right = f(n)  # type: ignore[misc]
                if not op(left, right):  # type: ignore[misc]
                    return False
                left = right
            return True

        return chain
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        fn = FUNCTIONS.get(node.func.id)
        args = [_fast(a) for a in node.args]
        if fn is None or any(a is None for a in args):
            return None
        argf: list[Fast] = [a for a in args if a is not None]
        return lambda n: fn(*(a(n) for a in argf))
    if isinstance(node, ast.IfExp):
        test, body, orelse = _fast(node.test), _fast(node.body), _fast(node.orelse)
        if test is None or body is None or orelse is None:
            return None
        return lambda n: body(n) if test(n) else orelse(n)
    return None


def compile_expr(source: Any) -> Expr:
    """Parse and check an expression; ValueError naming the refused construct."""
    if not isinstance(source, str) or not source.strip():
        raise ValueError("expected a non-empty expression")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"syntax error: {exc.msg}") from exc
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, _REFUSED):
            raise ValueError(f"{type(node).__name__.lower()} is not allowed in rule expressions")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ValueError(f"only the functions {', '.join(sorted(FUNCTIONS))} may be called")
        elif isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            names.add(node.id)
        elif isinstance(node, ast.Lambda | ast.ListComp | ast.DictComp | ast.SetComp):
            raise ValueError("lambdas and comprehensions are not allowed in rule expressions")
    return Expr(source.strip(), tree, frozenset(names), _fast(tree), _vec(tree))


_VEC_OPS: dict[type, Callable[..., Any]] = {
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.Mod: np.mod,
    ast.USub: np.negative,
    ast.UAdd: np.positive,
}


def _truth(x: Any) -> Any:
    return np.not_equal(x, 0)  # NaN counts as true: a prefilter may over-select, never miss


def _vec(node: ast.AST) -> Vec | None:
    """The expression over numeric columns (numpy), as a batch PREFILTER.

    ``rules.evaluate`` uses it to find, per rule and batch, the readings whose condition may
    hold; only those (and the devices whose rule state is live) go through the exact,
    per-reading path. So it may over-select (NaN, division by zero) but must never miss a
    reading the exact path would accept. Only numbers and booleans; None for anything else.
    """
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool | int | float):
            return lambda c: float(value)
        return None
    if isinstance(node, ast.Name):
        key = node.id
        return lambda c: c[key]
    if isinstance(node, ast.BoolOp):
        parts = [_vec(v) for v in node.values]
        if any(x is None for x in parts):
            return None
        fns = [x for x in parts if x is not None]
        join = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        return lambda c: functools.reduce(join, (_truth(f(c)) for f in fns))
    if isinstance(node, ast.UnaryOp):
        inner = _vec(node.operand)
        if inner is None:
            return None
        if isinstance(node.op, ast.Not):
            return lambda c: np.logical_not(_truth(inner(c)))
        vunary = _VEC_OPS.get(type(node.op))
        return None if vunary is None else (lambda c: vunary(inner(c)))
    if isinstance(node, ast.BinOp):
        op = _VEC_OPS.get(type(node.op))
        left, right = _vec(node.left), _vec(node.right)
        if op is None or left is None or right is None:
            return None
        return lambda c: op(left(c), right(c))
    if isinstance(node, ast.Compare):
        items = [_vec(node.left), *(_vec(x) for x in node.comparators)]
        ops = [_VEC_OPS.get(type(o)) for o in node.ops]
        if any(x is None for x in items) or any(o is None for o in ops):
            return None
        fs = [x for x in items if x is not None]
        os_ = [o for o in ops if o is not None]

        def compare(c: Mapping[str, Any]) -> Any:
            values = [f(c) for f in fs]
            return functools.reduce(
                np.logical_and, (o(values[i], values[i + 1]) for i, o in enumerate(os_))
            )

        return compare
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        args = [_vec(a) for a in node.args]
        if any(a is None for a in args) or not args:
            return None
        fa = [a for a in args if a is not None]
        name = node.func.id
        if name == "abs" and len(fa) == 1:
            return lambda c: np.abs(fa[0](c))
        if name in ("min", "max") and len(fa) >= 2:
            pick = np.minimum if name == "min" else np.maximum
            return lambda c: functools.reduce(pick, (f(c) for f in fa))
        if name == "between" and len(fa) == 3:
            return lambda c: np.logical_and(
                np.greater_equal(fa[0](c), fa[1](c)), np.less_equal(fa[0](c), fa[2](c))
            )
        return None
    if isinstance(node, ast.IfExp):
        test, body, orelse = _vec(node.test), _vec(node.body), _vec(node.orelse)
        if test is None or body is None or orelse is None:
            return None
        return lambda c: np.where(_truth(test(c)), body(c), orelse(c))
    return None


def new_evaluator() -> simpleeval.SimpleEval:
    """An evaluator with the whitelisted functions (one per thread: it holds the names)."""
    return _evaluator()
