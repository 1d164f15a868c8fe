"""The one exception type that carries a message meant for the person."""


class WorkflowError(Exception):
    """A problem the user can fix; its message is shown as one line."""
