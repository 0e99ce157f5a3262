"""What the tests share besides fixtures (those stay in the conftest.py files, where pytest finds them).

- ``paths``: the repository and the folder browser tests leave screenshots in.
- ``storage``: this run's PostgreSQL and Redis, its own database and key prefix (``TestStorage``).
- ``sites``: test sites and what their pages post (``make_site``, ``SiteHandle``, ``article_body``).
- ``tokens``: host-site SSO tokens, staff API tokens, Authorization headers.
- ``seeding``: rows put straight into the database to arrange a test (comments in any state,
  readers, worker reports, site policies).
- ``limits``: environments that switch chosen rate limits on.
- ``apps``: the app in the test's own process (behind AsyncTestClient, or uvicorn in the test's loop).
- ``servers``: real processes: the one launcher of `comments-service` commands (``ServiceProcess``),
  a throwaway Redis and PostgreSQL, a TCP proxy a test can cut.
- ``scoring``: scoring workers and waiting for their decisions.
- ``browser``: Chromium's settings and the demo service the browser tests drive.
- ``database``: a database connection for synchronous tests, snapshots of every table.
- ``consistency``: what fault tests compare: the served thread against PostgreSQL's rows.
- ``html``: HTML parsed as a browser tokenises it, to find anything that could run script.
"""
