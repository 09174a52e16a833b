"""The hardened jinja2 sandbox for admin-edited phrases: bounded in size, loops, time and reach.

Jinja2's own sandbox stops attribute access to Python internals, but nothing else is bounded
(measured on Jinja2 3.1.6, docs/decisions/0007-hardened-phrase-sandbox.md): `'x' * 10**7`
renders 10 MB and nested loops run for seconds. Admin text is
untrusted, so on top of `ImmutableSandboxedEnvironment` this module:

- refuses, when parsing, the tags a chat phrase never needs and that could capture or recurse
  (macros, call/filter blocks, block `set`, include/import/extends, recursive loops) and any
  name, attribute or filter starting with an underscore;
- allows only a short list of filters, globals and methods, each checked before and after it
  runs so that no intermediate value grows past `MAX_VALUE`;
- intercepts `+ * % **`, rewrites `~` and every `for` loop so that they are counted and
  checked against a per-render budget of steps and of CPU time;
- stops the output past `MAX_OUTPUT` characters.

A template compiled here renders only through `BoundedTemplate.render`.
"""

from __future__ import annotations

import contextvars
import functools
import time
import traceback
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, cast

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS as DEFAULT_FILTERS
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_context
from jinja2.visitor import NodeTransformer

MAX_SOURCE = 4_000  # characters of template text an admin may save
MAX_OUTPUT = 4_000  # characters a phrase may render to (Telegram's limit is 4,096)
MAX_VALUE = 10_000  # characters or items any intermediate value may hold
MAX_RANGE = 1_000  # items one range() may produce
MAX_STEPS = 10_000  # loop iterations, filter calls, method calls and operators per render
MAX_INT_BITS = 256  # size of integers that * and ** may produce
# CPU time of the rendering thread per render, checked at every step. CPU time, not wall
# time: on a loaded machine a harmless phrase may wait long for a core, and must not be
# refused (or replaced by the file text) for that; what the bound stops is text that burns
# the CPU, and that is counted the same however busy the machine is.
MAX_SECONDS = 0.25

_FORBIDDEN_NODES: dict[type[nodes.Node], str] = {
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.FilterBlock: "filter",
    nodes.AssignBlock: "set … endset",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Extends: "extends",
    nodes.Block: "block",
    nodes.NSRef: "namespace assignment",
}
_FILTERS = (
    "abs capitalize count d default dictsort first float int items join last length list lower"
    " map max min reject rejectattr replace reverse round select selectattr sort string"
    " striptags title trim truncate unique upper wordcount"
).split()
_SAFE_METHODS: tuple[tuple[type, frozenset[str]], ...] = (
    (
        str,
        frozenset(
            "capitalize casefold count endswith find isalnum isalpha isdigit islower isspace"
            " isupper lower lstrip removeprefix removesuffix replace rfind rsplit rstrip split"
            " splitlines startswith strip title upper".split()
        ),
    ),
    (dict, frozenset({"get", "items", "keys", "values"})),
    (list, frozenset({"count", "index"})),
    (tuple, frozenset({"count", "index"})),
    (LoopContext, frozenset({"cycle", "changed"})),
)
_LOOP_GUARD = "_loop_guard"
_CONCAT = "_concat"


class RenderLimitExceeded(SecurityError):
    """A phrase went past one of the bounds: size, steps or time."""


class TemplateRejected(ValueError):
    """A template that must not be saved; `line` is the template line at fault, if known."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {reason}" if line else reason)
        self.reason = reason
        self.line = line


@dataclass(slots=True)
class _Budget:
    steps: int
    deadline: float

    def tick(self, cost: int = 1) -> None:
        self.steps -= cost
        if self.steps < 0:
            raise RenderLimitExceeded(f"more than {MAX_STEPS} steps (a loop too long?)")
        if time.thread_time() > self.deadline:
            raise RenderLimitExceeded(f"took more than {MAX_SECONDS:g}s of CPU time")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "phrase_budget", default=None
)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:  # also keeps jinja2 from folding guarded calls at compile time
        raise SecurityError("phrase code runs only inside BoundedTemplate.render")
    return budget


def _weight(value: object, limit: int = MAX_VALUE) -> int:
    """About how many characters `str(value)` would have, counted without building it.

    Nested containers count in full (a tuple of 100 references to one 10,000-item tuple
    weighs a million), and the walk stops as soon as the weight passes `limit`, so it costs
    at most `limit` steps.
    """
    weight = 0
    stack = [value]
    while stack and weight <= limit:
        item = stack.pop()
        if isinstance(item, str | bytes):
            weight += len(item)
        elif isinstance(item, dict):
            weight += 1 + 2 * len(item)
            if weight <= limit:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            weight += 1 + len(item)
            if weight <= limit:
                stack.extend(item)
        else:  # numbers (bounded in bits), None, range, Undefined: short reprs
            weight += 8
    return weight


def _check_weight(value: object, limit: int = MAX_VALUE, what: str = "a value") -> None:
    if _weight(value, limit) > limit:
        raise RenderLimitExceeded(f"{what} of more than {limit} characters or items")


def _bounded(value: Any) -> Any:
    """Refuse values past the bounds; count the items of lazy iterators as they come."""
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        _check_weight(value)
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise RenderLimitExceeded(f"a number of more than {MAX_INT_BITS} bits")
    if isinstance(value, Iterator):
        return _counted(value)
    return value


def _counted(items: Iterable[Any]) -> Iterator[Any]:
    budget = _budget()
    for produced, item in enumerate(items):
        if produced >= MAX_VALUE:
            raise RenderLimitExceeded(f"a sequence of more than {MAX_VALUE} items")
        budget.tick()
        yield item


def _check_replace(text: str, old: str, new: str, count: object = None) -> None:
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * (len(new) - len(old)) > MAX_VALUE:
        raise RenderLimitExceeded(f"a replace() result of more than {MAX_VALUE} characters")


def _guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)  # keeps jinja's pass_context/pass_eval_context marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _budget().tick()
        value, rest = _filter_value(func, args)
        _check_weight(value)  # most filters turn their value into text first
        if name == "replace" and len(rest) >= 2:
            count = rest[2] if len(rest) > 2 else kwargs.get("count")
            _check_replace(str(value), str(rest[0]), str(rest[1]), count)
        return _bounded(func(*args, **kwargs))

    return guarded


def _filter_value(func: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    return args[skip], args[skip + 1 :]


@pass_context
def _join(_context: Context, value: Iterable[Any], d: str = "", attribute: None = None) -> str:
    """`join` without `attribute=`, sized before it allocates."""
    _budget().tick()
    if attribute is not None:
        raise SecurityError("join(attribute=...) is not available in phrases")
    items = list(islice(_counted(value), MAX_VALUE + 1))
    _check_weight(items, what="a join() result")
    items = [str(item) for item in items]
    if sum(map(len, items)) + len(str(d)) * max(len(items) - 1, 0) > MAX_VALUE:
        raise RenderLimitExceeded(f"a join() result of more than {MAX_VALUE} characters")
    return str(d).join(items)


@pass_context  # pass_context: jinja2 never evaluates it while compiling
def _loop_guard(_context: Context, iterable: Any) -> Iterator[Any]:
    """Every `for` loop runs over this: each iteration costs one step of the budget."""
    _budget()
    return _counted(iterable)


@pass_context
def _concat(_context: Context, parts: list[Any]) -> str:
    """The `~` operator, sized before it allocates."""
    _budget().tick()
    _check_weight(parts, what="a text")
    texts = [str(part) for part in parts]
    if sum(map(len, texts)) > MAX_VALUE:
        raise RenderLimitExceeded(f"a text of more than {MAX_VALUE} characters")
    return "".join(texts)


def _finalize(value: Any) -> Any:
    """Every `{{ … }}` output passes here before jinja2 turns it into text."""
    if isinstance(value, Iterator):  # `x|map(...)` printed: its items, not a generator's repr
        value = list(value)
    _check_weight(value, MAX_OUTPUT, what="output")
    return value


def _range(*args: int) -> range:
    _budget().tick()
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise RenderLimitExceeded(f"range() of more than {MAX_RANGE} numbers")
    return numbers


class _Policy(NodeTransformer):
    """Refuse what phrases may not use; route loops and `~` through the guards."""

    def generic_visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> nodes.Node:
        refused = next(
            (tag for kind, tag in _FORBIDDEN_NODES.items() if isinstance(node, kind)), ""
        )
        if refused:
            raise TemplateSyntaxError(f"'{refused}' is not allowed in phrases", node.lineno)
        if isinstance(node, nodes.Name) and node.name == "self":
            raise TemplateSyntaxError("'self' is not available in phrases", node.lineno)
        if isinstance(node, nodes.Name | nodes.Getattr) and _private(_name_of(node)):
            raise TemplateSyntaxError(
                f"'{_name_of(node)}' is not allowed: names starting with '_' are private",
                node.lineno,
            )
        if (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
            and _private(node.arg.value)
        ):
            raise TemplateSyntaxError(
                f"'{node.arg.value}' is not allowed: names starting with '_' are private",
                node.lineno,
            )
        if isinstance(node, nodes.Filter | nodes.Test) and _private(node.name):
            raise TemplateSyntaxError(f"there is no filter or test '{node.name}'", node.lineno)
        if isinstance(node, nodes.For) and node.recursive:
            raise TemplateSyntaxError("recursive loops are not allowed in phrases", node.lineno)
        visited = super().generic_visit(node, *args, **kwargs)
        if isinstance(visited, nodes.For):
            visited.iter = _filter(cast(nodes.Expr, visited.iter), _LOOP_GUARD)
        if isinstance(visited, nodes.Concat):
            return _filter(nodes.List(list(visited.nodes), lineno=visited.lineno), _CONCAT)
        return visited


def _name_of(node: nodes.Name | nodes.Getattr) -> str:
    return node.name if isinstance(node, nodes.Name) else node.attr


def _private(name: str) -> bool:
    return name.startswith("_")


def _filter(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class PhraseSandbox(ImmutableSandboxedEnvironment):
    """A jinja2 environment for untrusted phrase text; see the module docstring."""

    intercepted_binops = frozenset({"+", "*", "%", "**"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,  # chat text, not HTML
            trim_blocks=True,  # the same whitespace rules as the file defaults
            lstrip_blocks=True,
            finalize=_finalize,
        )
        self.globals = {"range": _range, "dict": dict}  # no lipsum, cycler, joiner, namespace
        self.filters = {name: _guarded_filter(name, DEFAULT_FILTERS[name]) for name in _FILTERS}
        self.filters.update({"join": _join, _LOOP_GUARD: _loop_guard, _CONCAT: _concat})

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # jinja2 3.1 offers no public hook on the parsed tree (extensions see tokens, not
        # nodes), and every way of compiling a template goes through Environment._parse, so
        # the policy is applied here. If an upgrade renamed it, the policy would silently stop:
        # tests/unit/test_sandbox.py::test_the_policy_applies_to_every_way_of_compiling fails.
        tree = super()._parse(source, name, filename)
        checked = _Policy().visit(tree)
        assert isinstance(checked, nodes.Template)
        checked.set_environment(self)
        return checked

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Data attributes as jinja2 allows them; of methods only a short read-only list."""
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if not callable(value):
            return True
        return any(isinstance(obj, kind) and attr in names for kind, names in _SAFE_METHODS)

    def wrap_str_format(self, value: Any) -> None:  # noqa: ARG002
        """No `str.format`: a width like `{:>99999999}` would allocate before any check."""
        return None

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call a method or global, sized before and after."""
        _budget().tick()
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_VALUE:
                raise RenderLimitExceeded(f"a number argument above {MAX_VALUE}")
        owner = getattr(__obj, "__self__", None)
        if (
            isinstance(owner, str)
            and getattr(__obj, "__name__", "") == "replace"
            and len(args) >= 2
        ):
            _check_replace(owner, str(args[0]), str(args[1]), args[2] if len(args) > 2 else None)
        return _bounded(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """`+ * % **`, refused before they could build something huge."""
        _budget().tick()
        if operator == "%" and isinstance(left, str):
            raise SecurityError("'%' formatting is not available in phrases; use ~ or filters")
        if operator == "**":
            if isinstance(left, int) and isinstance(right, int):
                if right < 0 or left.bit_length() * right > MAX_INT_BITS:
                    raise RenderLimitExceeded(f"a number of more than {MAX_INT_BITS} bits")
            elif not (isinstance(left, float | int) and isinstance(right, float | int)):
                raise SecurityError("'**' works on numbers only")
        if operator == "*":
            sequence, count = (left, right) if isinstance(right, int) else (right, left)
            repeats = isinstance(sequence, str | bytes | list | tuple) and isinstance(count, int)
            if repeats and _weight(sequence) * max(count, 0) > MAX_VALUE:
                raise RenderLimitExceeded(f"a value of more than {MAX_VALUE} characters or items")
            both_ints = isinstance(left, int) and isinstance(right, int)
            if both_ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise RenderLimitExceeded(f"a number of more than {MAX_INT_BITS} bits")
        if operator == "+" and _weight(left) + _weight(right) > MAX_VALUE:
            raise RenderLimitExceeded(f"a value of more than {MAX_VALUE} characters or items")
        return _bounded(super().call_binop(context, operator, left, right))


class BoundedTemplate:
    """A compiled phrase that renders within the bounds, or raises."""

    def __init__(self, template: Template) -> None:
        self._template = template

    def render(self, variables: Mapping[str, object]) -> str:
        """Fill in the phrase.

        Raises:
            RenderLimitExceeded: the output, a value, the steps or the time went past a bound.
            TemplateError: any other failure (SecurityError, UndefinedError...).
            Exception: anything a filter may raise on odd input (TypeError, ValueError...).
        """
        token = _BUDGET.set(_Budget(MAX_STEPS, time.thread_time() + MAX_SECONDS))
        chunks = cast(Generator[str, None, None], self._template.generate(dict(variables)))
        try:
            parts: list[str] = []
            size = 0
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise RenderLimitExceeded(f"output longer than {MAX_OUTPUT} characters")
                parts.append(chunk)
            return "".join(parts)
        finally:
            chunks.close()
            _BUDGET.reset(token)


SANDBOX = PhraseSandbox()


def compile_phrase(source: str) -> BoundedTemplate:
    """Compile admin text without checking its variables (used for stored overrides).

    Raises:
        TemplateSyntaxError: bad syntax or something the policy refuses (with its line).
        TemplateRejected: the text is longer than `MAX_SOURCE`.
    """
    if len(source) > MAX_SOURCE:
        raise TemplateRejected(f"the text is longer than {MAX_SOURCE} characters")
    return BoundedTemplate(SANDBOX.from_string(source))


def check_phrase(
    source: str, allowed: Iterable[str], sample: Mapping[str, object]
) -> tuple[BoundedTemplate, str]:
    """Everything the editor and the importer check before saving; returns the preview too.

    Args:
        source: the template text.
        allowed: the variables the phrase may use (what the flows pass).
        sample: sample values of those variables, for the trial render.

    Raises:
        TemplateRejected: the reason, and the line when it is known.
    """
    if len(source) > MAX_SOURCE:
        raise TemplateRejected(f"the text is longer than {MAX_SOURCE} characters")
    try:
        tree = SANDBOX.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateRejected(exc.message or str(exc), exc.lineno) from exc
    except RecursionError as exc:
        raise TemplateRejected("the text is nested too deeply") from exc
    permitted = set(allowed) | set(SANDBOX.globals)
    try:
        unknown = sorted(meta.find_undeclared_variables(tree) - permitted)
    except TemplateSyntaxError as exc:  # an unknown filter or test
        raise TemplateRejected(exc.message or str(exc), exc.lineno) from exc
    if unknown:
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == unknown[0]), None)
        may = ", ".join(sorted(allowed)) or "no variables"
        raise TemplateRejected(
            f"unknown variable '{unknown[0]}'; this phrase may use: {may}", line
        )
    try:
        template = compile_phrase(source)
    except TemplateSyntaxError as exc:
        raise TemplateRejected(exc.message or str(exc), exc.lineno) from exc
    except (RecursionError, SyntaxError, MemoryError) as exc:
        raise TemplateRejected(f"the text cannot be compiled ({type(exc).__name__})") from exc
    try:
        preview = template.render(sample).strip()
    except Exception as exc:  # any failure of untrusted text is a refusal
        raise TemplateRejected(_describe(exc), _template_line(exc)) from exc
    if not preview:
        raise TemplateRejected("the phrase renders to an empty message")
    return template, preview


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RenderLimitExceeded):
        return f"stopped: {exc}"
    if isinstance(exc, SecurityError):
        return f"not allowed: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _template_line(exc: BaseException) -> int | None:
    """The template line jinja2 wrote into the traceback, if any."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"]
    return frames[-1].lineno if frames else None
