"""Expressions return native values; templates keep the shape of what they render."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from jobweave.expr import compile_expression, compile_template, is_template, render

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ element.context.role == 'leader' }}", True),
    ("{{ current == first }}", False),
    ("{{ 1 + 2 }}", 3),
    ("{{ [1, 2] + [3] }}", [1, 2, 3]),
    ("{{ {'a': current} }}", {"a": 2}),
    ("{{ none }}", None),
    ("{{ '007' }}", "007"),
    ("{{ '[1, 2]' }}", "[1, 2]"),
    ("  {{ 2.5 }}  ", 2.5),
    ("{{- 3 -}}", 3),
    ("{{ '}}' }}", "}}"),
    ("{{ elements|length }}", 2),
    ("{{ elements|selectattr('context.role', 'eq', 'leader')|map(attribute='name')|list }}",
     ["a"]),
    ("{{ elements|sort(attribute='name', reverse=true)|map(attribute='name')|first }}", "b"),
    ("{{ 10 ** 10 ** 10 }}", 10**100),  # Jinja reads ** left to right
])
def test_one_expression_returns_its_native_value(source: str, expected: object) -> None:
    elements = [{"name": "a", "context": {"role": "leader"}},
                {"name": "b", "context": {"role": "replica"}}]
    variables = {"element": elements[0], "elements": elements, "current": 2, "first": 1}
    value = render(source, variables)
    assert value == expected
    assert type(value) is type(expected)


def test_text_around_expressions_gives_a_string() -> None:
    assert render("n={{ n }}", {"n": 1}) == "n=1"
    assert render("{{ a }}{{ b }}", {"a": 1, "b": 2}) == "12"
    assert render("{% if ok %}yes{% else %}no{% endif %}", {"ok": True}) == "yes"
    assert render("{% for i in range(3) %}{{ i }}{{ ',' if not loop.last else '' }}{% endfor %}") \
        == "0,1,2"


def test_structures_render_recursively_and_keep_their_shape() -> None:
    template = compile_template({
        "url": "{{ base }}/items/{{ id }}",
        "when": "{{ id > 1 }}",
        "tags": ["static", "{{ id }}", ("{{ base|upper }}", 7)],
        "limit": 10,
        "{{ not a key template }}": None,
    })
    out = template.render({"base": "http://h", "id": 2})
    assert out == {"url": "http://h/items/2", "when": True,
                   "tags": ["static", 2, ("HTTP://H", 7)], "limit": 10,
                   "{{ not a key template }}": None}
    assert not template.static
    assert compile_template({"a": [1, "plain"]}).static


def test_a_static_value_is_returned_as_given() -> None:
    value = {"a": [1, 2]}
    assert compile_template(value).render({}) is value
    assert not is_template("plain { text }") and is_template("{% if x %}{% endif %}")


def test_time_helpers_use_the_injected_clock() -> None:
    variables = {"t": datetime(2026, 1, 1, tzinfo=UTC)}
    assert render("{{ now() }}", now=NOW) == NOW
    assert render("{{ today() }}", now=NOW) == date(2026, 3, 29)
    assert render("{{ now('Europe/Warsaw').hour }}", now=NOW) == 1
    assert render("{{ today('Pacific/Kiritimati') }}", now=NOW) == date(2026, 3, 29)
    assert render("{{ today('America/Los_Angeles') }}", now=NOW) == date(2026, 3, 28)
    assert render("{{ now() + duration('1h30m') }}", now=NOW) == NOW + timedelta(minutes=90)
    assert render("{{ now() - timedelta(days=1) }}", now=NOW) == NOW - timedelta(days=1)
    assert render("{{ (now() - t).days }}", variables, now=NOW) == 87
    assert render("{{ now()|in_tz('Europe/Warsaw')|strftime('%Y-%m-%d %H:%M %z') }}",
                  now=NOW + timedelta(hours=1)) == "2026-03-29 03:30 +0200"
    assert render("{{ fromiso('2026-03-29T01:00:00Z') < now() }}", now=NOW) is False
    assert render("{{ fromiso('2026-03-29T00:00:00') }}") == datetime(2026, 3, 29, tzinfo=UTC)
    assert render("{{ t|isoformat }}", variables) == "2026-01-01T00:00:00+00:00"
    assert render("{{ now().strftime('%H') }}", now=NOW) == "00"


def test_the_wall_clock_is_used_without_an_injected_one() -> None:
    before = datetime.now(UTC)
    assert before <= render("{{ now() }}") <= datetime.now(UTC)


def test_bad_helper_arguments_are_expression_errors() -> None:
    from jobweave.errors import ExpressionError

    with pytest.raises(ExpressionError, match="unknown time zone 'Mars/Base'"):
        render("{{ now('Mars/Base') }}")
    with pytest.raises(ExpressionError, match="bad duration"):
        render("{{ duration('soon') }}")
    with pytest.raises(ExpressionError, match="not an ISO 8601 time"):
        render("{{ fromiso('yesterday') }}")


def test_fromjson_turns_a_for_loop_s_json_text_back_into_values() -> None:
    from jobweave.errors import ExpressionError

    rows = ("[{% for u in users %}{{ {'id': u.id, 'email': u.email | lower} | tojson }}"
            "{{ '' if loop.last else ',' }}{% endfor %}]")
    text = render(rows, {"users": [{"id": 1, "email": "A@X.ORG"}, {"id": 2, "email": "b@x"}]})
    assert render("{{ t | fromjson }}", {"t": text}) == [{"id": 1, "email": "a@x.org"},
                                                         {"id": 2, "email": "b@x"}]
    assert render("{{ fromjson('{\"a\": [1, null]}') }}") == {"a": [1, None]}
    with pytest.raises(ExpressionError, match="fromjson: not JSON"):
        render("{{ fromjson('[1,') }}")
    with pytest.raises(ExpressionError, match="fromjson takes text, not int"):
        render("{{ fromjson(3) }}")
    with pytest.raises(ExpressionError, match="over the size limit"):
        render("{{ fromjson(t) }}", {"t": "[" + "1," * 600_000 + "1]"})


def test_a_compiled_expression_is_safe_across_threads() -> None:
    expr = compile_expression("n * 2")
    results: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for _ in range(200):
            value = expr.evaluate({"n": n})
            with lock:
                results.append(value - 2 * n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [0] * 800


def test_evaluation_is_fast() -> None:
    expr = compile_expression("element.context.role == 'leader' and current != last")
    variables = {"element": {"context": {"role": "leader"}}, "current": 1, "last": 2}
    n = 2000
    started = time.perf_counter()
    for _ in range(n):
        assert expr.evaluate(variables) is True
    per_call = (time.perf_counter() - started) / n
    assert per_call < 500e-6  # measured ~15 µs on an idle core; generous for a busy CI


def test_large_input_data_passes_through_filters() -> None:
    # 20,000 elements of 60 fields each: over a million nested items, all given as input
    elements = [{"name": f"e{i}", "context": {"role": "leader" if i % 2 else "replica",
                                              **{f"k{j}": j for j in range(58)}}}
                for i in range(20_000)]
    leaders = render("{{ elements|selectattr('context.role', 'eq', 'leader')|list }}",
                     {"elements": elements})
    assert len(leaders) == 10_000 and leaders[0] is elements[1]
    assert render("{{ (elements + elements)|length }}", {"elements": elements}) == 40_000


@pytest.mark.parametrize(("source", "expected"), [
    ("'ab'|replace('a', 'cc')", "ccb"),
    ("'a\nb'|indent(2, true)", "  a\n  b"),
    ("'hello world'|wordwrap(5)", "hello\nworld"),
    ("'x\ty'.expandtabs(4)", "x   y"),
    ("'abc'.translate({97: 'zz'})", "zzbc"),
    ("'see http://x.org'|urlize", 'see <a href="http://x.org" rel="noopener">http://x.org</a>'),
    ("', '.join(['a', 'b'])", "a, b"),
    ("'{:>5}'.format('a')", "    a"),
    ("'%05d' % 42", "00042"),
    ("'%s-%s'|format('a', 'b')", "a-b"),
    ("'a'|center(5)", "  a  "),
])
def test_text_methods_and_filters_within_the_bounds(source: str, expected: str) -> None:
    assert compile_expression(source).evaluate() == expected
