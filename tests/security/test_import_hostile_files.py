"""Poisoned export files handed to an operator: the import neither runs away with CPU or memory, nor
stops half-way with a traceback, nor writes what PostgreSQL cannot hold."""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
import time
import tracemalloc

import pytest

from comments_service.formats import commento, disqus, isso, native, remark42, source_file, wxr
from comments_service.formats.records import Skipped, SourceComment, SourceFileError, SourceThread
from comments_service.formats.source_file import SourceFile
from tests.support.imports import REPO, Post, Thread, disqus_xml, import_cli
from tests.support.sites import make_site

DISQUS_ROOT = '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">'
WXR_ROOT = '<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>'


def peak_bytes(read) -> tuple[list, int]:
    tracemalloc.start()
    try:
        records = list(read())
        return records, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------- XML: CPU and memory

def test_a_huge_attribute_is_refused_at_once_not_rescanned_chunk_after_chunk(tmp_path) -> None:
    # expat before 2.6 scans an unfinished tag again with every chunk: 64 MB cost 9 s, 1 GB ~40 min
    path = tmp_path / "attr.xml.gz"
    with gzip.open(path, "wt", compresslevel=1) as f:
        f.write(DISQUS_ROOT + '<thread dsq:id="1" x="' + "a" * 32_000_000 + '"/></disqus>')
    began = time.monotonic()
    with pytest.raises(SourceFileError, match="longer than"):
        list(disqus.read(SourceFile(path)))
    assert time.monotonic() - began < 1


def test_deep_nesting_is_refused(tmp_path) -> None:
    # each open element costs expat memory: 3 M levels took 400 MB
    for module, root, end in ((disqus, DISQUS_ROOT + '<thread dsq:id="1">', "</thread></disqus>"),
                              (wxr, WXR_ROOT + "<item>", "</item></channel></rss>")):
        path = tmp_path / f"{module.SYSTEM}.xml"
        path.write_text(root + "<a>" * 100_000 + "</a>" * 100_000 + end)
        with pytest.raises(SourceFileError, match="nested more than"):
            list(module.read(SourceFile(path)))


def test_a_record_of_many_large_unknown_fields_is_not_held(tmp_path) -> None:
    fields = "".join(f"<f{i}>" + "a" * 900_000 + f"</f{i}>" for i in range(40))
    disqus_file = tmp_path / "fields.xml.gz"
    with gzip.open(disqus_file, "wt", compresslevel=1) as f:
        f.write(DISQUS_ROOT + '<thread dsq:id="1"><link>https://a.example/x</link>' + fields + "</thread></disqus>")
    records, peak = peak_bytes(lambda: disqus.read(SourceFile(disqus_file)))
    assert [type(r) for r in records] == [SourceThread]
    assert peak < 15_000_000

    wxr_file = tmp_path / "fields.wxr.gz"
    with gzip.open(wxr_file, "wt", compresslevel=1) as f:
        f.write(WXR_ROOT + "<item><wp:post_id>1</wp:post_id><link>https://a.example/x</link>" + fields
                + "<wp:comment><wp:comment_id>1</wp:comment_id>" + fields.replace("f", "wp:f")
                + "</wp:comment></item></channel></rss>")
    records, peak = peak_bytes(lambda: wxr.read(SourceFile(wxr_file)))
    assert [type(r) for r in records] == [SourceThread, Skipped]
    assert peak < 15_000_000


# ---------------------------------------------------------------- JSON: memory and nesting

def test_deep_json_nesting_is_a_bad_record_not_a_crash(tmp_path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    lines = tmp_path / "remark42.jsonl"
    lines.write_text('{"version": 1, "posts": []}\n'
                     '{"id": "1", "text": "x", "locator": {"url": "https://a.example/x"}, '
                     f'"time": "2024-01-01T00:00:00Z", "extra": {deep}}}\n')
    records = list(remark42.read(SourceFile(lines)))
    assert [r.reason for r in records] == ["malformed_record"]
    for module, text in ((commento, f'{{"version": 1, "x": {deep}}}'),
                         (native, f'{{"format": "comments_service.export", "version": {deep}, "tables": {{}}}}')):
        path = tmp_path / f"{module.SYSTEM}.json"
        path.write_text(text)
        with pytest.raises(SourceFileError):
            list(module.read(SourceFile(path)))


def test_a_remark42_line_of_gigabytes_is_passed_over_not_held(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(remark42, "MAX_LINE_BYTES", 1_000_000)
    path = tmp_path / "remark42.jsonl.gz"
    good = '{"id": "2", "text": "<p>ok</p>", "locator": {"url": "https://a.example/x"}, "time": "2024-01-01T00:00:00Z"}'
    with gzip.open(path, "wt", compresslevel=1) as f:
        f.write('{"version": 1, "posts": []}\n{"id": "1", "text": "' + "a" * 30_000_000 + '"}\n' + good + "\n")
    records, peak = peak_bytes(lambda: remark42.read(SourceFile(path)))
    assert [type(r) for r in records] == [Skipped, SourceThread, SourceComment]
    assert records[0].reason == "oversized" and records[0].position == "record 2"
    assert peak < 10_000_000


@pytest.mark.parametrize("module", [commento, native])
def test_whole_document_formats_stop_at_their_size_cap(tmp_path, monkeypatch, module) -> None:
    # a 1 MB gzip file expands to a gigabyte: read whole, it would take the memory with it
    monkeypatch.setattr(source_file, "MAX_WHOLE_BYTES", 1_000_000)
    path = tmp_path / "big.json.gz"
    with gzip.open(path, "wt", compresslevel=1) as f:
        f.write('{"version": 1, "comments": [], "pad": "' + "a" * 5_000_000 + '"}')
    with pytest.raises(SourceFileError, match="MiB"):
        list(module.read(SourceFile(path)))


# ---------------------------------------------------------------- SQLite tricks

def isso_file(tmp_path, comments_sql: str):
    path = tmp_path / "isso.db"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));"
                       "INSERT INTO threads VALUES (1, '/story', 'A');" + comments_sql)
    conn.commit()
    conn.close()
    return SourceFile(path)


def test_an_isso_view_that_never_ends_is_refused(tmp_path) -> None:
    source = isso_file(tmp_path, """
        CREATE VIEW comments AS WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r)
        SELECT 1 AS tid, x AS id, NULL AS parent, 1700000000.0 AS created, 1 AS mode, '' AS remote_addr,
               'hi' AS text, 'a' AS author, NULL AS email, NULL AS website FROM r;""")
    # in a process of its own: a query SQLite never ends cannot be stopped from this one
    code = ("import sys\nfrom comments_service.formats import isso\nfrom comments_service.formats.source_file import "
            "SourceFile\ntry:\n    list(isso.read(SourceFile(sys.argv[1])))\nexcept Exception as exc:\n    print(exc)")
    try:
        done = subprocess.run([sys.executable, "-c", code, str(source.path)], cwd=REPO, capture_output=True,
                              text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("the reader ran a view without end")
    assert "plain tables" in done.stdout, done.stdout + done.stderr


def test_an_isso_value_of_gigabytes_is_refused(tmp_path) -> None:
    source = isso_file(tmp_path, """
        CREATE TABLE comments (tid INTEGER, id INTEGER PRIMARY KEY, parent INTEGER, created FLOAT, mode INTEGER,
            remote_addr VARCHAR, text VARCHAR, author VARCHAR, email VARCHAR, website VARCHAR);
        INSERT INTO comments VALUES (1, 1, NULL, 1700000000, 1, '', 'x', 'a', NULL, NULL);
        UPDATE comments SET text = zeroblob(100000000);""")
    with pytest.raises(SourceFileError, match="too big"):
        list(isso.read(source))


# ---------------------------------------------------------------- the whole import

def commento_v1(site, comments: list[dict], commenters: list[dict] = ()) -> str:
    domain = site.origin.removeprefix("https://")
    return json.dumps({"version": 1, "commenters": list(commenters), "comments": [
        {"domain": domain, "url": "/story", "commenterHex": "anonymous", "parentHex": "root", "state": "approved",
         "creationDate": "2024-01-01T00:00:00Z", **c} for c in comments]})


async def test_nul_characters_anywhere_do_not_stop_the_import(storage, database, services, db, tmp_path) -> None:
    site = await make_site(services, db)
    export = tmp_path / "commento.json"
    export.write_text(commento_v1(site, [
        {"commentHex": "ok1", "markdown": "fine"},
        {"commentHex": "ok2", "markdown": "a\u0000b", "commenterHex": "u1"},
        {"commentHex": "ok3", "markdown": "reply", "parentHex": "ok\u00001"},
        {"commentHex": "bad\u00001", "markdown": "its id cannot be stored"},
        {"commentHex": "ok4", "markdown": "elsewhere", "url": "/x\u0000y"},
    ], [{"commenterHex": "u1", "name": "N\u0000ame", "email": "a\u0000@example.org"}]))
    done = import_cli(storage, database, "--site", site.id, "--keep-personal-data", str(export))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    rows = await db.fetch("SELECT c.source_id, c.body_markdown, u.display_name FROM comments c "
                          "JOIN users u ON u.id = c.author_id WHERE c.site_id = $1 ORDER BY c.source_id", site.id)
    assert [(r["source_id"], r["body_markdown"]) for r in rows] == [("ok1", "fine"), ("ok2", "ab"), ("ok3", "reply")]
    assert rows[1]["display_name"] == "Name"


async def test_one_source_id_in_two_articles_of_one_batch(storage, database, services, db, tmp_path) -> None:
    site = await make_site(services, db)
    export = tmp_path / "disqus.xml"
    export.write_text(disqus_xml([
        Thread(id="t1", ident="one", link=f"{site.origin}/one", posts=[Post(id="same", thread="t1")]),
        Thread(id="t2", ident="two", link=f"{site.origin}/two", posts=[Post(id="same", thread="t2")]),
    ]))
    done = import_cli(storage, database, "--site", site.id, str(export))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    assert await db.fetchval("SELECT count(*) FROM comments WHERE site_id = $1", site.id) == 1


async def test_a_native_file_makes_nobody_an_author_unless_the_operator_says_so(storage, database, services, db,
                                                                               tmp_path) -> None:
    site = await make_site(services, db)
    await db.execute("INSERT INTO users (site_id, kind, external_id, display_name) VALUES ($1, 'sso', 'editor', "
                     "'The Editor')", site.id)
    export = {"format": "comments_service.export", "version": 1, "schema_version": 1, "tables": {
        "sites": [{"id": "elsewhere", "name": "E", "allowed_origins": [site.origin]}],
        "users": [{"id": 1, "site_id": "elsewhere", "kind": "sso", "external_id": "editor",
                   "display_name": "The Editor"}],
        "articles": [{"id": 1, "site_id": "elsewhere", "external_id": "a", "url": f"{site.origin}/a",
                      "title": "A", "comments_open": True}],
        "comments": [{"id": 1, "article_id": 1, "author_id": 1, "parent_id": None, "body_markdown": "I resign.",
                      "status": "published", "created_at": "2024-01-01T00:00:00+00:00"}],
        "votes": []}}
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(export))
    done = import_cli(storage, database, "--site", site.id, "--format", "native", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    kind = await db.fetchval("SELECT u.kind FROM comments c JOIN users u ON u.id = c.author_id "
                             "WHERE c.site_id = $1", site.id)
    assert kind == "imported"  # shown as a name from the file, not as the site's editor
