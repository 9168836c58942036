"""Limits on the public (no login) endpoints, per client: a petitioner's query code must not be
guessable by trying, and the portal must not be flooded. Moving windows from the ``limits``
library, in the process's memory (one API process per service in embedded mode; behind several
replicas, the same limits with ``limits``' Redis storage).

Two windows per client and endpoint group: every request (``XF_PUBLIC_RATE``), and the requests
that named no case (``XF_PUBLIC_FAILURES``, a wrong query code): past either, 429 with Retry-After.
The client is the peer address, or the X-Forwarded-For of a proxy uvicorn trusts
(``FORWARDED_ALLOW_IPS``, 127.0.0.1 by default).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from limits import RateLimitItem, parse, storage, strategies

from .errors import NotFound, TooManyRequests


class PublicLimits:
    def __init__(self, rate: str, failures: str, submissions: str):
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self.rate, self.failures, self.submissions = parse(rate), parse(failures), parse(submissions)

    @staticmethod
    def client(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def _refuse(self, item: RateLimitItem, bucket: str, client: str) -> None:
        reset = self._limiter.get_window_stats(item, bucket, client).reset_time
        raise TooManyRequests("请求过于频繁，请稍后再试", retry_after=max(1, math.ceil(reset - time.time())))

    @contextmanager
    def lookups(self, request: Request, bucket: str) -> Iterator[None]:
        """Around a lookup by query code: refused when the client asked too often or guessed wrong
        too often; a lookup that finds nothing counts as a wrong guess."""
        client = self.client(request)
        if not self._limiter.test(self.failures, bucket, client):
            self._refuse(self.failures, bucket, client)
        if not self._limiter.hit(self.rate, bucket, client):
            self._refuse(self.rate, bucket, client)
        try:
            yield
        except NotFound:
            self._limiter.hit(self.failures, bucket, client)
            raise

    def submission(self, request: Request, bucket: str = "submit") -> None:
        client = self.client(request)
        if not self._limiter.hit(self.submissions, bucket, client):
            self._refuse(self.submissions, bucket, client)


def from_settings(settings) -> PublicLimits:
    return PublicLimits(settings.public_rate, settings.public_failures, settings.public_submissions)
