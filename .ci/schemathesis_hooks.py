"""Schemathesis hooks for the clearinghouse's document: a journal to replay is JSON lines
(application/x-ndjson), which Schemathesis sends as the text it generated."""

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")


@schemathesis.hook
def filter_body(ctx, body):
    """A drop-reply fault closes the connection of the tenant's next requests on purpose
    (the change is applied, the answer never sent): the run would report those as network
    errors, so the fuzzer does not set one."""
    return not (isinstance(body, dict) and body.get("kind") == "drop-reply")
