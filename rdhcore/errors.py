"""The project's one exception type for errors a user can cause and fix."""


class RdhError(Exception):
    """A bad input, path, option or file. The message names it and says what to do.

    The CLI prints it on one line and exits with status 2; tracebacks are for bugs.
    """
