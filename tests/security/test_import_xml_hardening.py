"""The import's XML readers refuse every DTD trick before it can expand or fetch anything."""

from __future__ import annotations

import time

import pytest

from comments_service.formats import disqus, wxr
from comments_service.formats.records import SourceFileError
from comments_service.formats.safe_xml import REFUSED
from comments_service.formats.source_file import SourceFile

DISQUS_ROOT = '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">'
POST = ('<thread dsq:id="1"><link>https://a.example/</link></thread>'
        '<post dsq:id="2"><message>{body}</message><createdAt>2020-01-01T00:00:00Z</createdAt>'
        '<thread dsq:id="1"/></post>')
LAUGHS = "".join(
    f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">\n' for i in range(1, 10))

HOSTILE = {
    "billion_laughs": ('<!DOCTYPE disqus [\n<!ENTITY lol0 "lol">\n' + LAUGHS + "]>\n", "&lol9;"),
    "quadratic_blowup": ('<!DOCTYPE disqus [\n<!ENTITY a "' + "x" * 50_000 + '">\n]>\n', "&a;" * 50_000),
    "external_file": ('<!DOCTYPE disqus [\n<!ENTITY leak SYSTEM "file:///etc/passwd">\n]>\n', "&leak;"),
    "external_url": ('<!DOCTYPE disqus [\n<!ENTITY leak SYSTEM "http://127.0.0.1:9/x">\n]>\n', "&leak;"),
    "parameter_entity": ('<!DOCTYPE disqus [\n<!ENTITY % dtd SYSTEM "file:///etc/passwd">\n%dtd;\n]>\n', "x"),
    "external_dtd": ('<!DOCTYPE disqus SYSTEM "file:///etc/passwd">\n', "x"),
    "bare_doctype": ("<!DOCTYPE disqus>\n", "x"),
    "unparsed_entity": ('<!DOCTYPE disqus [\n<!NOTATION gif SYSTEM "image/gif">\n'
                        '<!ENTITY pic SYSTEM "file:///etc/passwd" NDATA gif>\n]>\n', "x"),
}


def hostile_file(tmp_path, dtd: str, body: str) -> SourceFile:
    path = tmp_path / "hostile.xml"
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + dtd + DISQUS_ROOT + POST.format(body=body)
                    + "</disqus>\n")
    return SourceFile(path)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_dtd_tricks_are_refused_before_any_record(tmp_path, case):
    dtd, body = HOSTILE[case]
    seen = []
    began = time.monotonic()
    with pytest.raises(SourceFileError) as err:
        for record in disqus.read(hostile_file(tmp_path, dtd, body)):
            seen.append(record)
    assert err.value.message == REFUSED
    assert err.value.position == "line 2"  # the DOCTYPE's: nothing in it was read on
    assert seen == []
    assert time.monotonic() - began < 1


def test_wxr_refuses_them_too(tmp_path):
    path = tmp_path / "hostile.xml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY leak SYSTEM "file:///etc/passwd">\n]>\n'
                    '<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel><item>'
                    "<title>&leak;</title><wp:post_id>1</wp:post_id></item></channel></rss>\n")
    with pytest.raises(SourceFileError, match="declares a DTD/entities") as err:
        list(wxr.read(SourceFile(path)))
    assert err.value.position == "line 2"


def test_an_undeclared_entity_is_malformed_not_fetched(tmp_path):
    source = hostile_file(tmp_path, "", "&passwd;")
    with pytest.raises(SourceFileError, match="undefined entity") as err:
        list(disqus.read(source))
    assert err.value.position == "line 2"


def test_predefined_entities_and_character_references_are_plain_xml(tmp_path):
    source = hostile_file(tmp_path, "", "&lt;p&gt;a &amp; b &#x2603; &#9731; &quot;q&quot; &apos;s&apos;&lt;/p&gt;")
    thread, post = list(disqus.read(source))
    assert post.body == "<p>a & b ☃ ☃ \"q\" 's'</p>"
