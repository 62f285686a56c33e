"""Runbooks as data: the packaged library (``library/*.yaml``), and the code that loads
(``loading``), validates (``validation``) and fills them from an alert's labels
(``labels``); ``correlation`` reads the correlation rules kept beside the runbooks.
Every mistake is reported with its place in the file (``errors``).
"""
