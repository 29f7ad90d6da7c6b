"""The `private-pypi` command's entry point (and `python -m private_pypi`).

As little as possible runs before Ctrl-C is handled: this module imports nothing of the
rest until it is inside the handler, so an interrupt while the command is still starting
ends it as one later does, with one line and exit status 130, never a traceback.
"""

import sys


def main() -> int:
    try:
        from .cli import main as run

        return run()
    except KeyboardInterrupt:
        return interrupted()


def interrupted() -> int:
    import os
    import signal

    # A second Ctrl-C, while this line is written, ends the process at once.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        from .advice import INTERRUPTED

        sys.stderr.write(f"\n{INTERRUPTED}\n" if sys.stderr.isatty() else f"{INTERRUPTED}\n")
        sys.stderr.flush()
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    # Not sys.exit: worker threads still uploading would hold the exit until they finish.
    os._exit(130)


if __name__ == "__main__":
    sys.exit(main())
