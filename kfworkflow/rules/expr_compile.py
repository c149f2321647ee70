"""Compile a checked condition expression into a plain Python function.

``compile_expr(node)`` returns ``fn(facts, env)``. The function runs close to hand-written Python
because it *is* Python bytecode: field reads are ``f.get('<name>')``, operators are Python
operators, and the null rules (see below) are inlined with walrus temporaries, e.g.
``(_t1 := f.get('rate')) is not None and _t1 < 0.8``.

Why this is safe although it compiles code at run time:

* Policy text never reaches ``compile()`` as source. The input is the syntax tree our own parser
  produced; ``expr_codegen`` builds a Python ``ast`` tree from it node by node and this module
  compiles that tree. There is no ``eval`` or ``exec`` anywhere: the code object of ``_fn`` is
  taken out of the compiled module's constants and wrapped with ``types.FunctionType``.
* Every identifier in the generated tree is one this module or the generator invents: the
  parameters ``f`` and ``env``, temporaries ``_t<n>``, constants ``_k<n>`` and the fixed helper
  table (``_timedelta``, ``_add``, ``_f_round``, ...). Field names, strings and function names
  written by users appear only as ``ast.Constant`` values (``f.get('planned.started')``) or
  select a helper from the fixed table; they can never become a name, an attribute or code. The
  only attributes used are ``get``, ``as_of``, ``days``, ``month``, ``workdays_between`` and
  ``add_workdays``.
* The function's globals hold ``__builtins__ = {}`` plus the helper table, so even a bug in this
  module or in the generator could not reach ``open``, ``__import__`` and the like.

Semantics (shared with the tracing interpreter in ``expr_trace``; both call the run-time helpers
in ``expr_runtime``):

* Evaluation goes left to right and stops as soon as the result is known: ``and``/``or``;
  comparison chains at the first false link (like Python); ``coalesce`` at the first non-none
  argument; and any operator, ordering comparison or function at the first ``none`` operand
  (the rest is not evaluated). So arithmetic and functions (except ``coalesce``) on a ``none``
  give ``none``, and an ordering comparison with a ``none`` side is false. ``==``/``!=`` and
  ``in`` always evaluate both sides and compare normally; ``in``/``not in`` a ``none`` list is
  false. Division by zero is ``none``.
* ``and``/``or``/``not`` give true/false, treating ``none`` as false.
* ``date - date`` is whole days; ``date ± int`` moves by calendar days.
* ``round`` rounds half away from zero (四舍五入), not to even.

Null handling compiles to a chain of ``is not None`` tests in evaluation order, so
``days_since(planned.started) > 30`` becomes
``(_t1 := f.get('planned.started')) is not None and (env.as_of - _t1).days > 30``.
"""

from __future__ import annotations

import ast
import datetime as dt
import types
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from kfworkflow.errors import Finding, RuleCheckError
from kfworkflow.rules.expr_ast import Node
from kfworkflow.rules.expr_check import FieldSchema, analyze
from kfworkflow.rules.expr_codegen import ExprGenerator

# re-exported: the group compiler and the tracer import it from here
from kfworkflow.rules.expr_codegen import has_no_effect as has_no_effect
from kfworkflow.rules.expr_runtime import (  # re-exported: the public helpers of the language
    FUNCTION_IMPLEMENTATIONS as FUNCTION_IMPLEMENTATIONS,
)
from kfworkflow.rules.expr_runtime import EvalEnv as EvalEnv
from kfworkflow.rules.expr_runtime import add, member, not_member, subtract
from kfworkflow.rules.expr_runtime import round_half_up as round_half_up

CompiledExpr = Callable[[Mapping[str, Any], EvalEnv], Any]

_HELPERS: dict[str, object] = {
    "_timedelta": dt.timedelta,
    "_add": add,
    "_subtract": subtract,
    "_member": member,
    "_not_member": not_member,
    "_min": min,
    "_max": max,
    "_abs": abs,
    "_len": len,
    **{f"_f_{name}": impl for name, impl in FUNCTION_IMPLEMENTATIONS.items()},
}
HELPERS: Mapping[str, object] = _HELPERS  # the globals every generated function may use


# -- compilation -------------------------------------------------------------------------------


def compile_expr(
    node: Node, name: str = "expr", schema: FieldSchema | None = None
) -> CompiledExpr:
    """Compile ``node`` into ``fn(facts, env)``.

    The tree is checked first (against ``schema`` when given, which also lets date arithmetic be
    inlined); any issue raises RuleCheckError carrying one Finding per issue.
    """
    module, constants = _build_module(node, name, schema)
    return function_from_module(module, name, {**_HELPERS, **constants})


def function_from_module(
    module: ast.Module, name: str, namespace: Mapping[str, object]
) -> Callable[..., Any]:
    """Compile a module tree holding ``def _fn(...)`` and wrap that function's code object.

    The module itself never runs: its code object is only searched for ``_fn``'s code, which
    gets ``namespace`` (plus an empty ``__builtins__``) as its globals.
    """
    with warnings.catch_warnings():  # e.g. `1 is not none`: fine in a rule, noise to Python
        warnings.simplefilter("ignore", SyntaxWarning)
        code = compile(module, f"<rule:{name}>", "exec")
    function_code = next(
        const for const in code.co_consts
        if isinstance(const, types.CodeType) and const.co_name == "_fn"
    )
    globals_: dict[str, Any] = {**namespace, "__builtins__": {}}
    function = types.FunctionType(function_code, globals_, name)
    function.__qualname__ = name
    return function



def generated_source(node: Node, schema: FieldSchema | None = None) -> str:
    """The Python that ``compile_expr`` would compile, for reading and tests."""
    module, _ = _build_module(node, "expr", schema)
    return ast.unparse(module)


def _build_module(
    node: Node, name: str, schema: FieldSchema | None
) -> tuple[ast.Module, dict[str, object]]:
    analysis = analyze(node, schema)
    if analysis.issues:
        findings = [
            Finding(code=issue.code, message=issue.message, col=issue.pos + 1, hint=issue.hint)
            for issue in analysis.issues
        ]
        raise RuleCheckError(
            f"cannot compile expression {name!r}: {analysis.issues[0].message}", findings
        )
    generator = ExprGenerator(analysis)
    body = generator.value(node)
    return function_module(("f", "env"), [ast.Return(body)]), generator.constants


def function_module(params: tuple[str, ...], body: list[ast.stmt]) -> ast.Module:
    """``def _fn(<params>): <body>`` as a module tree, locations filled in."""
    arguments = ast.arguments(
        posonlyargs=[], args=[ast.arg(param) for param in params], kwonlyargs=[],
        kw_defaults=[], defaults=[],
    )
    function_fields: dict[str, Any] = {
        "name": "_fn", "args": arguments, "body": body, "decorator_list": [],
    }
    if "type_params" in ast.FunctionDef._fields:
        function_fields["type_params"] = []
    module = ast.Module(body=[ast.FunctionDef(**function_fields)], type_ignores=[])
    return ast.fix_missing_locations(module)
