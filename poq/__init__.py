"""The command line: ``poq <command>``, above both libraries (``oracle`` and ``node``)."""
