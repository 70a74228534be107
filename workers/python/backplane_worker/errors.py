"""bwp/1 error codes and the exception every handler raises."""

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
SERVER_ERROR = -32000
CANCELLED = -32800


class RpcError(Exception):
    """An error answered on the wire as ``{code, message, data:{category, retryable, ...}}``."""

    def __init__(self, code, message, category=None, retryable=False, data=None):
        super().__init__(message)
        self.code = code
        self.message = message
        if category is None:
            category = "user" if code in (METHOD_NOT_FOUND, INVALID_PARAMS, CANCELLED) else "server"
        self.category = category
        self.retryable = retryable
        self.data = dict(data or {})

    def to_wire(self):
        data = dict(self.data)
        data["category"] = self.category
        data["retryable"] = self.retryable
        return {"code": self.code, "message": self.message, "data": data}


def user_error(message, **data):
    """A -32602 error: bad params, unknown model, unreadable checkpoint, missing libraries."""
    return RpcError(INVALID_PARAMS, message, category="user", data=data)


def cancelled_error(message="cancelled"):
    return RpcError(CANCELLED, message, category="user")


def to_wire_error(exc):
    """The wire form of anything a handler raised (non-RpcError → -32000 server error)."""
    if isinstance(exc, RpcError):
        return exc.to_wire()
    return RpcError(SERVER_ERROR, f"{type(exc).__name__}: {exc}", category="server").to_wire()
