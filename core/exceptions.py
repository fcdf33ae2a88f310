"""Domain errors: what went wrong, in words a user can act on, with no notion of HTTP.

`icebox.api_errors` maps them (and `kinds.base.ParseError`) to status codes in one table, by
these classes: other packages' errors subclass one of them (engine.exceptions), so that the map
needs no import of theirs.
"""


class IceboxError(Exception):
    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidParameter(IceboxError):
    """A query or form parameter that cannot be understood."""

    code = "invalid_parameter"


class InvalidFile(IceboxError):
    """An uploaded file refused before parsing (too large, missing)."""

    code = "invalid_file"


class NotFound(IceboxError):
    """Absent, or not the current user's: the two are deliberately indistinguishable."""

    code = "not_found"


class InvalidPropertyName(InvalidParameter):
    """A requested property (data column) that the artifact does not have."""

    code = "invalid_property"


class ReadOnly(IceboxError):
    """Shared with the user, who may read it but not change, delete or re-share it."""

    code = "read_only"


class Forbidden(IceboxError):
    """The user may not do this at all (not a matter of sharing: e.g. importing for another user)."""

    code = "forbidden"


class UpstreamFailure(IceboxError):
    """A server Icebox depends on (an engine) could not give what was asked."""

    code = "upstream_error"


class NotComparable(InvalidParameter):
    """Two artifacts that cannot be compared site by site: different kinds or data columns."""

    code = "not_comparable"
