"""Schemathesis hooks for the clearinghouse's document: a journal to replay is JSON lines
(application/x-ndjson), which Schemathesis sends as the text it generated."""

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
