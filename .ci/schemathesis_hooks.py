"""Schemathesis hooks for the clearinghouse's document: a journal to replay is JSON lines
(application/x-ndjson), which Schemathesis sends as the text it generated."""

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")


def fails_later_requests(body):
    """Whether `body` is a fault that makes the tenant's later requests fail on purpose: a
    drop-reply fault closes their connections (the change applied, the answer never sent),
    an outage answers 503, an error fault the status it names, on every route when it names
    none. The run would report those answers as the server's failures (seen: an outage set
    on tenant "0" made its later licensing requests 503); what the faults do is tested in
    the controls' own tests."""
    return isinstance(body, dict) and body.get("kind") in ("drop-reply", "outage", "error")


@schemathesis.hook
def filter_body(ctx, body):
    """The fuzzer sets no fault that fails later requests on purpose."""
    return not fails_later_requests(body)
