"""Validators on every page, and 304 answers to conditional requests."""

from __future__ import annotations

from flask import Response, request

from .render import get_site


def make_conditional(response: Response) -> Response:
    """``after_request`` hook: add ETag/Last-Modified to a 200 and honour If-None-Match etc.

    Streamed responses must set their own ETag, since hashing would consume the stream.
    Pages without their own Last-Modified get the time of the site's latest publication.
    """
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    if response.get_etag()[0] is None:
        response.add_etag()
    if response.last_modified is None:
        response.last_modified = get_site().last_change
    response.make_conditional(request)
    return response
