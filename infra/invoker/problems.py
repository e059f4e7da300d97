"""The pages a problem's `type` URI points at: what each error code means and what to do.

Every code comes from errors.py (its status, title and docstring), plus the few the local
invoker answers itself, so the pages never drift from the errors the API raises.
"""

from __future__ import annotations

import html
from collections.abc import Collection
from dataclasses import dataclass

from profilepics.errors import PROBLEMS_PATH, ProblemError

from infra.invoker import delivery, gateway
from infra.invoker.edge import EDGE_ERRORS


@dataclass(frozen=True)
class ProblemDoc:
    status: int
    code: str
    title: str
    when: str


# When the local invoker answers these itself (never a function), by code.
INVOKER_WHEN = {
    "bad_event": "A POST to /_events/... whose body is not JSON, or has a record without "
    "s3.object.key.",
    "function_error": "The function raised an exception it did not handle, or its runtime "
    "crashed: a bug; its log (the terminal running `profilepics up`) says which. API Gateway "
    "answers 500 here too.",
    "function_timeout": "The function ran past its `Timeout` (template.yaml) and its instance "
    "was stopped, as Lambda stops one.",
    "function_out_of_memory": "The function's instance went past its `MemorySize` "
    "(template.yaml) and was stopped, as Lambda stops one.",
    "integration_timeout": "The function did not answer within 30 s, API Gateway's "
    "integration timeout; it may still finish. Retry later.",
    "events_unavailable": "A bucket event could not be written to the invoker's spool in the "
    "data dir; the store sends it again.",
    "request_timeout": "(the local invoker's HTTP edge; on AWS, API Gateway's own) A client "
    "sent nothing for 60 s in the middle of a request, or took over 120 s to send it all.",
    "uri_too_long": "(the HTTP edge) The request target (path and query) is over 8 KiB.",
    "headers_too_large": "(the HTTP edge) The request line and headers are over 16 KiB.",
    "not_implemented": "(the HTTP edge) A transfer coding other than `chunked`.",
    "http_version_not_supported": "(the HTTP edge) A protocol other than HTTP/1.1 or HTTP/1.0.",
    "event_failed": "The function a bucket event runs failed (`profilepics serve` acknowledges "
    "an event only after it succeeded); the store sends it again, and after its last attempt "
    "it is a dead letter (`profilepics events`).",
}


def _invoker_problems(documented: Collection[str]) -> list[ProblemDoc]:
    """The invoker's own codes; the edge's bad_request, file_too_large and internal_error are the
    API's too, documented with their errors."""
    answers = [(a.status, a.code, a.title) for a in gateway.ANSWERS]
    answers += [(status, code, title) for status, (code, title) in EDGE_ERRORS.items()]
    answers += [(a.status, a.code, a.title) for a in (delivery.NOT_RECORDED, delivery.NOT_DONE)]
    answers.append((400, "bad_event", "The bucket event is not valid"))
    return [
        ProblemDoc(status, code, title, INVOKER_WHEN[code])
        for status, code, title in answers
        if code not in documented
    ]


def _subclasses(cls: type[ProblemError]) -> list[type[ProblemError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _when(cls: type[ProblemError]) -> str:
    lines = (cls.__doc__ or cls.title).strip().splitlines()
    if cls is ProblemError:
        lines = lines[2:3]  # the base's second paragraph is the one about internal_error
    return " ".join(line.strip() for line in lines)


def catalogue() -> list[ProblemDoc]:
    """Every code the API or the local invoker answers with, by status then code."""
    classes: list[type[ProblemError]] = [ProblemError, *_subclasses(ProblemError)]
    docs: dict[str, ProblemDoc] = {}
    for c in classes:  # the base first: InternalError shares its code
        docs.setdefault(c.code, ProblemDoc(c.status, c.code, c.title, _when(c)))
    docs.update({doc.code: doc for doc in _invoker_problems(docs)})
    return sorted(docs.values(), key=lambda d: (d.status, d.code))


def _code_markup(text: str) -> str:
    """`backticks` as <code>, everything else escaped."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _section(doc: ProblemDoc) -> str:
    return (
        f'<section id="{doc.code}" aria-labelledby="h-{doc.code}">'
        f'<h2 id="h-{doc.code}"><code>{doc.code}</code> — {doc.status}</h2>'
        f"<p><strong>{html.escape(doc.title)}.</strong> {_code_markup(doc.when)}</p>"
        f'<p class="hint">type: <a href="{PROBLEMS_PATH}{doc.code}">'
        f"{PROBLEMS_PATH}{doc.code}</a></p></section>"
    )


def render(code: str | None = None) -> str | None:
    """The page for one code (None if unknown), or for all of them."""
    docs = catalogue()
    if code is not None:
        docs = [d for d in docs if d.code == code]
        if not docs:
            return None
    title = f"profilepics error {code}" if code else "profilepics error codes"
    intro = (
        f'<p>One of the API\'s error codes; <a href="{PROBLEMS_PATH}">all codes</a>.</p>'
        if code
        else "<p>Every error is <code>application/problem+json</code> (RFC 9457) whose "
        "<code>type</code> links here and whose <code>code</code> never changes.</p>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(title)}</title><link rel="stylesheet" href="/style.css">'
        '<link rel="icon" href="/favicon.svg" type="image/svg+xml"></head>'
        f"<body><header><h1>{html.escape(title)}</h1>{intro}</header><main>"
        + "".join(_section(doc) for doc in docs)
        + "</main></body></html>"
    )
