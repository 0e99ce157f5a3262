"""Other comment systems' files, read and written: how a newsroom's history comes in and goes out.

Each source format has a reader that turns its file into a stream of records (``records.py``):
threads, comments, and the entries it had to skip, in file order, holding only what it is reading
now. ``services/importer.py`` maps the records onto a site (articles, authors, content, states),
stages them, and writes each article's comments in one transaction. ``wxr_writer.py`` writes a
site's threads as WordPress's export, which most comment systems can import.
"""
