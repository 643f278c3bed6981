"""The one exception type whose message is meant for the user."""


class GroundTruthError(Exception):
    """Bad input or a state the extension refuses; the message says what to do."""
