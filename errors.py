"""The exceptions whose message is meant for the user."""


class GroundTruthError(Exception):
    """Bad input or a state the extension refuses; the message says what to do."""


class DatasetError(GroundTruthError, ValueError):
    """A dataset file is missing, damaged or not Ground Truth's.

    The reader raises only this (a ``ValueError``) for bad files; the message names the
    file and what is wrong with it.
    """
