"""The expression sandbox refuses escapes and bounds time and size: each attempt is one
ExpressionError (a DefinitionError, so the CLI exits 2), never a hang or a huge value."""

from __future__ import annotations

import time

import pytest

from jobweave.errors import DefinitionError, ExpressionError
from jobweave.expr import MAX_RANGE, compile_expression, compile_template, render

ESCAPES = [
    "().__class__.__mro__",
    "().__class__.__mro__[1].__subclasses__()",
    "''.__class__.__base__",
    "self.__init__.__globals__",
    "self._TemplateReference__context",
    "lipsum.__globals__['os']",
    "cycler.__init__.__globals__.os",
    "joiner.__init__.__globals__",
    "namespace.__init__.__globals__",
    "config.items()",
    "request.application.__globals__",
    "range.__self__",
    "now.__globals__",
    "x.__class__",
    "x|attr('__class__')",
    "[x]|map(attribute='__class__')|list",
    "'{0.__class__}'.format(x)",
    "'{0.__class__.__mro__}'.format(x)",
    "'{x.__class__}'.format_map({'x': x})",
    "'{0[__class__]}'.format(x)",
    "x.__dict__",
    "[].append(1)",
    "{}.update(a=1)",
    "__import__('os')",
    "import('os')",
    "open('/etc/passwd').read()",
    "getattr(x, '__class__')",
    "eval('1')",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_escapes_are_refused_with_one_line(source: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source, field="when").evaluate({"x": 1})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("when: ")
    assert isinstance(info.value, DefinitionError)
    assert info.value.expression == source


@pytest.mark.parametrize("source", [
    "{% include 'x.txt' %}",
    "{% import 'x.txt' as m %}",
    "{% from 'x.txt' import m %}",
    "{% extends 'base.txt' %}",
])
def test_template_loading_tags_are_refused_at_compile_time(source: str) -> None:
    with pytest.raises(ExpressionError, match="is not allowed"):
        compile_template(source)


BOUNDS = [
    ("range(10**9)", "range of 1,000,000,000 items"),
    (f"range({MAX_RANGE + 1})|list", "over the limit"),
    ("'a' * 10**9", "over the size limit"),
    ("10**9 * 'a'", "over the size limit"),
    ("['a'] * 10**9", "over the size limit"),
    ("['a' * 1000000] * 2", "over the size limit"),
    ("'a' * 600000 + 'b' * 600000", "over the size limit"),
    ("10 ** (10 ** 10)", "4096 bits"),
    ("2 ** 5000", "4096 bits"),
    ("(2 ** 3000) * (2 ** 3000)", "4096 bits"),
    ("'{:>1000000000}'.format(1)", "format width"),
    ("'{:{}}'.format(1, 1000000000)", "over the limit"),
    ("'%1000000000d' % 1", "format width"),
    ("'%*d' % (1000000000, 1)", "'\\*' widths"),
    ("'%1000000000d'|format(1)", "format width"),
    ("'a'|center(1000000000)", "over the limit"),
    ("'a'.ljust(1000000000)", "over the limit"),
    ("'a'.zfill(1000000000)", "over the limit"),
    ("(1).to_bytes(1000000000, 'big')", "over the limit"),
    ("('a' * 1000).replace('', 'b' * 1000)", "over the size limit"),
    ("('b' * 1000).join(['a' * 1000] * 1000)", "over the size limit"),
    ("(['a' * 900000] * 1 + ['b' * 900000])|join", "over the size limit"),
    ("'%s' % big", "over the size limit"),
    ("'{}'.format(big)", "over the size limit"),
    ("big|string", "over the size limit"),
    ("big|tojson", "over the size limit"),
    ("('\t' * 900000).expandtabs(1000)", "expandtabs would make a text over"),
    ("('a' * 1000).translate({97: 'b' * 10000})", "translate would make a text over"),
    ("('a\n' * 500000)|indent('x' * 1000)", "indent would make a text over"),
    ("('a ' * 400000)|wordwrap(2, wrapstring='y' * 100)", "wordwrap would make a text over"),
    ("('a' * 1000)|replace('', 'b' * 1000)", "replace would make a text over"),
    ("('w ' * 100000)|urlize(target='t' * 1000)", "urlize would make a text over"),
    ("10.0 ** 1000", "OverflowError"),
    ("1 / 0", "ZeroDivisionError"),
    ("missing", "'missing' is undefined"),
    ("x.nope", "has no attribute 'nope'"),
    ("now().strftime('%Y')|strftime('%1000000000Y')", "strftime"),
]


@pytest.mark.parametrize(("source", "message"), BOUNDS)
def test_bounds_and_failures_are_errors(source: str, message: str) -> None:
    big = [["x" * 500_000]] * 10
    started = time.monotonic()
    with pytest.raises(ExpressionError, match=message):
        compile_expression(source).evaluate({"x": {}, "big": big})
    assert time.monotonic() - started < 2


TEMPLATE_BOUNDS = [
    ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
     "took longer than the limit"),
    ("{% for a in xs %}{% for b in xs %}{% for c in xs %}{% endfor %}{% endfor %}{% endfor %}",
     "took longer than the limit"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}{{ ns.s|length }}", "over the size limit"),
    ("{% set a = 'a' * 900000 %}{% set b = [a, a, a] %}{% set c = [b, b, b] %}x{{ c }}",
     "over the size limit"),
    ("{% for i in range(100000) %}{{ 'a' * 100 }}{% endfor %}", "rendered text"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set t %}{{ ns.s }}{{ ns.s }}"
     "{% endset %}{% set ns.s = t %}{% endfor %}", "printed value is over the size limit"),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursion"),
]


@pytest.mark.parametrize(("source", "message"), TEMPLATE_BOUNDS)
def test_templates_are_bounded_in_time_and_size(source: str, message: str) -> None:
    # The bounds other than time end a render in milliseconds; they get a clock of 2 s, so
    # that a worker descheduled on a busy machine cannot make the clock fire first.
    timeout = 0.3 if message.startswith("took longer") else 2.0
    started = time.monotonic()
    with pytest.raises(ExpressionError, match=message):
        compile_template(source, timeout=timeout).render({"xs": list(range(10_000))})
    assert time.monotonic() - started < 3


def test_a_slow_expression_stops_at_its_own_timeout() -> None:
    slow = compile_expression("range(100000)|map('string')|map('length')|sum * 0 + "
                              "range(100000)|map('string')|map('length')|sum", timeout=0.0001)
    with pytest.raises(ExpressionError, match=r"took longer than the limit of 0\.0001s"):
        slow.evaluate()


def test_syntax_errors_name_the_field_and_the_text() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_template({"params": {"url": "{{ base"}}, field="jobs[0]")
    assert str(info.value).startswith("jobs[0].params.url: ")
    assert "'{{ base'" in str(info.value)


def test_an_error_at_render_names_the_nested_field() -> None:
    template = compile_template({"steps": [{"when": "{{ element.role == 1 }}"}]})
    with pytest.raises(ExpressionError) as info:
        template.render({})
    assert str(info.value).startswith("steps[0].when: 'element' is undefined")


def test_a_failed_evaluation_leaves_the_next_one_unbounded_by_it() -> None:
    slow = compile_expression("range(10000)|map('string')|list|length", timeout=0.000001)
    with pytest.raises(ExpressionError):
        slow.evaluate()
    assert compile_expression("range(10000)|map('string')|list|length").evaluate() == 10_000


def test_render_caches_nothing_dangerous_between_variables() -> None:
    assert render("{{ a }}", {"a": 1}) == 1
    assert render("{{ a }}", {"a": [2]}) == [2]
