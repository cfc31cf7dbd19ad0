"""Who may have a kernel: one page request let in (:class:`Admission`, carried to the kernel manager in
:data:`CURRENT`), or refused with when to retry (:class:`Unavailable`, HTTP 503 with ``Retry-After``)."""

from __future__ import annotations

import contextvars


class Admission:
    """One page request let in for ``login``; ``pending`` until its kernel exists (counts toward the limits)."""

    def __init__(self, login: str) -> None:
        self.login, self.pending = login, True


CURRENT: contextvars.ContextVar[Admission | None] = contextvars.ContextVar("mktdash_admission", default=None)


class Unavailable(Exception):
    """No kernel for a new page right now (HTTP 503 with ``Retry-After``)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
