vcl 4.1;

import std;

# Varnish in front of comments_service's public reads (anonymous thread pages and counts).
#
# The API says what may be kept: an anonymous thread page or count comes with
# "Cache-Control: public, max-age=2, s-maxage=N, stale-while-revalidate=M" (COMMENTS_CDN_S_MAXAGE,
# COMMENTS_CDN_STALE_WHILE_REVALIDATE) and a Surrogate-Key header naming its articles and its site.
# Nothing else is kept: a signed-in reader's page is private, and any answer without a Surrogate-Key
# (errors, the moderation API, the widget's files) goes to the API every time.
#
# After a visible change the API sends its purge call here (set on every API and worker process):
#   COMMENTS_CDN_PURGE_URL=http://<this varnish>:6081/
#   COMMENTS_CDN_PURGE_METHOD=BAN
# with the changed articles' keys in its Surrogate-Key header; every object carrying one of them
# goes at once. Allow the API's and workers' addresses in the "purgers" ACL below.

backend api {
    # the API (comments-service serve); several: use a director (import directors)
    .host = "127.0.0.1";
    .port = "8000";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "BAN" || req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        # only keys of the API's own form reach the ban expression: never a regex of a caller's
        if (req.http.Surrogate-Key !~ "^cs-[as]-[a-z0-9_-]+( cs-[as]-[a-z0-9_-]+)*$") {
            return (synth(400, "A Surrogate-Key header of cs-a-/cs-s- keys is required"));
        }
        # one ban for all the keys; on obj.* only, so the ban lurker clears the objects in the background
        # (no space in the expression: the ban parser splits at spaces, even within quotes)
        if (!std.ban("obj.http.Surrogate-Key ~ (^|[^a-z0-9_-])(" + regsuball(req.http.Surrogate-Key, " ", "|") +
                ")([^a-z0-9_-]|$)")) {
            return (synth(500, std.ban_error()));
        }
        return (synth(200, "Banned"));
    }
    # live updates are long-lived streams: never buffered or kept
    if (req.url ~ "^/api/v1/articles/[^/?]+/live") {
        return (pipe);
    }
    # the built-in rules follow: only GET and HEAD are looked up, and a request with an
    # Authorization header (a signed-in reader or staff) or a cookie always goes to the API
}

sub vcl_pipe {
    set bereq.http.Connection = "close";
}

sub vcl_backend_response {
    if (!beresp.http.Surrogate-Key || beresp.http.Cache-Control ~ "(private|no-store|no-cache)") {
        # not marked cacheable by the API: fetched anew every time (a hit-for-miss marker, so that
        # requests for it are not queued behind one another)
        set beresp.ttl = 10s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    # s-maxage and stale-while-revalidate set beresp.ttl and beresp.grace already (Varnish reads both)
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    # the keys are for this cache only
    unset resp.http.Surrogate-Key;
    unset resp.http.Cache-Tag;
}
