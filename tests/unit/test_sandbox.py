"""The hardened phrase sandbox: published SSTI payloads, resource bounds, clear refusals."""

from __future__ import annotations

import time

import pytest
from jinja2 import TemplateSyntaxError

from chatbot.frontdesk.phrases import PhraseBook
from chatbot.frontdesk.sandbox import (
    MAX_OUTPUT,
    MAX_SECONDS,
    BoundedTemplate,
    PhraseSandbox,
    RenderLimitExceeded,
    TemplateRejected,
    check_phrase,
    compile_phrase,
)
from flows import phrase_keys
from tests.conftest import ROOT

# Server-side template injection payloads for Jinja2, as published in PayloadsAllTheThings
# ("Server Side Template Injection/Python.md", Jinja2 section), plus their filter bypasses.
SSTI_PAYLOADS = [
    "{{ config.items() }}",
    "{% for key, value in config.iteritems() %}{{ key|e }}{{ value|e }}{% endfor %}",
    "{{ [].class.base.subclasses() }}",
    "{{ ''.class.mro()[1].subclasses() }}",
    "{{ ''.__class__.__mro__[2].__subclasses__() }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ ''.__class__.__mro__[2].__subclasses__()[40]('/etc/passwd').read() }}",
    "{{ config.items()[4][1].__class__.__mro__[2].__subclasses__()[40]('/tmp/flag').read() }}",
    "{{ get_flashed_messages.__globals__.__builtins__.open('/etc/passwd').read() }}",
    "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ self._TemplateReference__context.joiner.__init__.__globals__.os.popen('id').read() }}",
    "{{ self._TemplateReference__context.namespace.__init__.__globals__.os.popen('id').read() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__.os.popen('id').read() }}",
    "{{ namespace.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ ''.__class__.mro()[1].__subclasses__()[396]('cat flag.txt',shell=True,stdout=-1)"
    ".communicate()[0].strip() }}",
    "{{ config.__class__.__init__.__globals__['os'].popen('ls').read() }}",
    "{% for x in ().__class__.__base__.__subclasses__() %}{% if 'warning' in x.__name__ %}"
    "{{ x()._module.__builtins__['__import__']('os').popen('ls').read() }}{% endif %}{% endfor %}",
    "{{ ''.__class__.__mro__[2].__subclasses__()[40]('/tmp/evil.cfg', 'w').write('x') }}",
    "{{ config.from_pyfile('/tmp/evilconfig.cfg') }}",
    "{{ request.__class__ }}",
    "{{ request['__class__'] }}",
    "{{ request|attr(['_'*2, 'class', '_'*2]|join) }}",
    "{{ request|attr(['__', 'class', '__']|join) }}",
    "{{ request|attr('__class__') }}",
    "{{ request|attr('application')|attr('\\x5f\\x5fglobals\\x5f\\x5f') }}",
    "{{ request|attr(request.args.f|format(request.args.a, request.args.a)) }}",
    # The same ideas written against what a phrase really has: a string variable.
    "{{ label.__class__ }}",
    "{{ label['__class__'] }}",
    "{{ label['\\x5f\\x5fclass\\x5f\\x5f'] }}",
    "{{ label[('_' * 2) ~ 'class' ~ ('_' * 2)] }}",
    "{{ label|attr('__class__') }}",
    "{{ '{0.__class__}'.format(label) }}",
    "{{ label.format_map(dict(a=1)) }}",
    "{{ '%c%c' % (95, 95) }}",
    "{{ '%s'|format(label) }}",
    "{{ self }}",
    "{% include 'id/greeting/salam.j2' %}",
    "{% import 'id/greeting/salam.j2' as x %}",
    "{% extends 'id/greeting/salam.j2' %}",
    "{% macro m() %}x{% endmacro %}{{ m.__globals__ }}",
]

# Denial of service: memory, CPU and output, each of which stock jinja2 lets through.
DOS_PAYLOADS = [
    "{{ 'x' * 10**7 }}",
    "{{ label * 100000 }}",
    "{{ [label] * 100000 }}",
    "{{ 9**9**9 }}",
    "{{ 2**100000 }}",
    "{{ range(10**6)|list }}",
    "{{ range(100000)|list|length }}",
    "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}x",
    "{% for a in 'x' * 2000 %}{% for b in 'y' * 2000 %}{% endfor %}{% endfor %}x",
    "{% for i in range(1000) %}{{ label }}, {% endfor %}",
    "{{ label.center(100000000) }}",
    "{{ label.ljust(100000000) }}",
    "{{ '\\t'.expandtabs(100000000) }}",
    "{{ label.zfill(100000000) }}",
    "{{ '%0100000000d' % 1 }}",
    "{{ label|replace('', label * 1000) }}",
    "{{ label|replace('', 'xxxxxxxxxx')|replace('', 'xxxxxxxxxx')|replace('', 'xxxxxxxxxx') }}",
    "{{ label.replace('', 'xxxxxxxxxx').replace('', 'xxxxxxxxxx').replace('', 'xxxxxxxxxx') }}",
    "{{ (label * 1000)|join(label * 1000) }}",
    "{% set x = label %}" + "{% set x = x ~ x %}" * 40 + "{{ x|length }}",
    "{% set x = [1] %}" + "{% set x = x + x %}" * 40 + "{{ x|length }}",
    "{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f(label) }}",
    "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
    "{{ lipsum(100000) }}",
    "{% set ns = namespace(s=label) %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s }}",
    "{% filter upper %}{% for i in range(1000) %}{{ label }}{% endfor %}{% endfilter %}",
    "{% set big %}{% for i in range(1000) %}{{ label }}{% endfor %}{% endset %}{{ big }}",
    "{{" + "(" * 1500 + "1" + ")" * 1500 + "}}",
    # Shallow-small, deeply huge: 10 references to one 5,000-item tuple, and so on.
    "{% set t = ('a',) * 5000 %}{% set u = (t,) * 5000 %}{{ u|length }}",
    "{% set t = ('a',) * 3000 %}{{ (t, t, t, t, t, t, t, t, t, t) }}",
    "{% set t = ('a',) * 3000 %}{{ (t, t, t, t, t, t, t, t, t, t)|string|length }}",
    "{% set t = ('a',) * 3000 %}{{ (t, t, t, t, t, t, t, t, t, t) ~ '' }}",
    "{% set t = ('a',) * 3000 %}{{ [(t, t, t), (t, t, t)]|join(',') }}",
    "{% set t = ('a',) * 3000 %}{{ ((t, t, t, t, t, t, t, t, t, t)|list + [1])|length }}",
    "x" * 5000,
]
LEAKS = ("<class", "subclasses", "module", "function", "built-in", "uid=", "root:", "Config")


def _refused(source: str) -> TemplateRejected:
    with pytest.raises(TemplateRejected) as caught:
        check_phrase(source, ["label"], {"label": "nama"})
    return caught.value


# The "quickly" checks below count the CPU time of this thread, as the sandbox's own bound
# does: wall time would depend on how loaded the machine is, not on the code.


def test_the_time_bound_counts_cpu_time_not_waiting() -> None:
    """A render that waits for a core on a busy machine is not refused; one that burns it is."""
    from chatbot.frontdesk import sandbox

    budget = sandbox._Budget(steps=10**9, deadline=time.thread_time() + MAX_SECONDS)

    def burn() -> None:
        while True:
            budget.tick()

    time.sleep(MAX_SECONDS * 1.5)  # wall time passes, as it does for a descheduled thread
    budget.tick()
    with pytest.raises(RenderLimitExceeded, match="CPU time"):
        burn()


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
def test_published_ssti_payload_is_refused_on_save(payload: str) -> None:
    started = time.thread_time()
    refusal = _refused(payload)
    assert refusal.reason
    assert time.thread_time() - started < 1


@pytest.mark.parametrize("payload", DOS_PAYLOADS)
def test_resource_exhaustion_is_refused_on_save_quickly(payload: str) -> None:
    started = time.thread_time()
    _refused(payload)
    assert time.thread_time() - started < 1


class _Forced:
    """An override source that serves a text no editor checked, as a tampered DB row would."""

    def __init__(self, source: str) -> None:
        try:
            self._template: BoundedTemplate | None = compile_phrase(source)
        except Exception:  # the desk's loader drops texts that do not compile, like this
            self._template = None

    def template(self, key: str, locale: str) -> BoundedTemplate | None:
        return self._template


@pytest.mark.parametrize("payload", SSTI_PAYLOADS + DOS_PAYLOADS)
def test_unchecked_payload_renders_the_default_text(
    payload: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Even if such a text reached the database, the bot says the default and logs it."""
    book = PhraseBook(ROOT / "scripts_text", _Forced(payload.replace("label", "desk_name")))
    default = PhraseBook(ROOT / "scripts_text").render(
        phrase_keys.GREETING_SALAM, "id", {"desk_name": "HaloERZAP", "salam": True}
    )
    started = time.thread_time()
    text = book.render(phrase_keys.GREETING_SALAM, "id", {"desk_name": "HaloERZAP", "salam": True})
    assert time.thread_time() - started < 1
    assert len(text) <= MAX_OUTPUT
    assert not any(leak in text for leak in LEAKS)
    if text != default:  # a payload that is merely harmless text, like x * 5000 cut short
        pytest.fail(f"unexpected text: {text[:80]!r}")


def test_benign_detection_payloads_render_as_plain_text() -> None:
    assert check_phrase("{{7*7}}", [], {})[1] == "49"
    assert check_phrase("{{7*'7'}}", [], {})[1] == "7777777"


def test_syntax_error_names_the_line() -> None:
    refusal = _refused("Halo kak\n\n{% if label %}{{ label }}")
    assert refusal.line == 3
    assert "line 3" in str(refusal)


def test_unknown_variable_is_named_with_its_line_and_the_allowed_ones() -> None:
    refusal = _refused("Halo\n{{ nama_pelanggan }}")
    assert refusal.line == 2
    assert "unknown variable 'nama_pelanggan'" in refusal.reason
    assert "label" in refusal.reason


def test_private_attribute_names_its_line() -> None:
    refusal = _refused("Halo\nkak\n{{ label.__class__ }}")
    assert refusal.line == 3
    assert "__class__" in refusal.reason


def test_runtime_refusal_names_its_line() -> None:
    refusal = _refused("Halo\n{{ label * 100000 }}")
    assert refusal.line == 2
    assert "stopped" in refusal.reason


def test_empty_result_is_refused() -> None:
    assert "empty" in _refused("{% if false %}x{% endif %}").reason


def test_output_is_capped() -> None:
    template = compile_phrase("{% for i in range(900) %}{{ label }}{% endfor %}")
    with pytest.raises(RenderLimitExceeded, match="output longer"):
        template.render({"label": "nama kakak"})


def test_everyday_phrase_features_still_work() -> None:
    source = (
        "Halo {{ label|title }}!\n"
        "{% if label|length > 2 %}{{ label.upper() }}{% else %}pendek{% endif %}\n"
        "{% for part in label.split('a') %}[{{ loop.index }}:{{ part|default('-', true) }}]"
        "{% endfor %}\n"
        "{{ ['satu', 'dua']|join(', ') }} {{ label ~ '!' }} {{ label|replace('a', 'o') }}"
    )
    _, preview = check_phrase(source, ["label"], {"label": "nama"})
    # trim_blocks, as for the file defaults: a newline right after a block tag is dropped.
    assert preview == "Halo Nama!\nNAMA[1:n][2:m][3:-]satu, dua nama! nomo"


def test_compiled_template_does_not_render_outside_its_bounds() -> None:
    """The guards need the per-render budget: a raw jinja2 render cannot skip them."""
    template = compile_phrase("{% for i in range(3) %}{{ i }}{% endfor %}")
    with pytest.raises(Exception, match=r"BoundedTemplate\.render"):
        template._template.render()
    assert template.render({}) == "012"


@pytest.mark.parametrize("locale", ["id", "en"])
@pytest.mark.parametrize("key", phrase_keys.ALL)
def test_every_file_default_passes_the_editor_checks(key: str, locale: str) -> None:
    """So an exported phrase set can always be imported again."""
    book = PhraseBook(ROOT / "scripts_text")
    source = book.default_source(key, locale)
    variables = phrase_keys.SAMPLE_VARIABLES[key]
    _, preview = check_phrase(source, variables, variables)
    assert preview == book.render(key, locale, variables)


def test_a_printed_map_shows_its_items_not_a_generator() -> None:
    _, preview = check_phrase("{{ label.split(' ')|map('upper') }}", ["label"], {"label": "a b"})
    assert preview == "['A', 'B']"


def test_quadratic_sum_of_lists_is_not_available() -> None:
    refusal = _refused("{{ ('x' * 9000)|list|map('list')|sum(start=[])|length }}")
    assert "sum" in refusal.reason


def test_the_policy_applies_to_every_way_of_compiling() -> None:
    # PhraseSandbox applies its policy by overriding jinja2's private Environment._parse.
    env = PhraseSandbox()
    macro = "{% macro m() %}x{% endmacro %}{{ m() }}"
    for compile_it in (env.from_string, env.parse, env.compile):
        with pytest.raises(TemplateSyntaxError, match="'macro' is not allowed"):
            compile_it(macro)
