"""gunicorn's access log without the secrets some URLs carry (the Procfile's
`--logger-class`): a review link's or an invitation's token is the key itself, and so is a
calendar feed's `?token=`; a log line is read by more people, for longer, than the link's
recipient."""

import re

from gunicorn.glogging import Logger

# /review/<token> and /invite/<token>: secrets.token_urlsafe(32), 43 characters.
SECRET_PATH = re.compile(r"(/(?:review|invite)/)[A-Za-z0-9_-]{43}")
HIDDEN = r"\1[token]"
# A token in a query string (the calendar feed's ?token=), whatever its length.
SECRET_QUERY = re.compile(r"((?:^|[?&])(?:[^=&#\s]*_)?token=)[^&#\s\"]*", re.IGNORECASE)
# The request line, its path, its query string, and the Referer (a page's own requests
# name it).
ATOMS = ("r", "U", "q", "f", "{referer}i")


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = SECRET_QUERY.sub(HIDDEN, SECRET_PATH.sub(HIDDEN, atoms[key]))
        return atoms
