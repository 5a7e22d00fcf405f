"""What the Python end-to-end tests share: waiting on the test's side, and a list of named
checks that reports every failure and goes on, then ends with "LABEL: N passed, N failed"."""
import sys
import time
import traceback


def wait(condition, timeout, what):
    """Polls `condition` (the test's side, not the product's) until it is truthy; returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))


class Checks:
    def __init__(self, label):
        self.label = label
        self.results = []

    def check(self, name, body):
        try:
            body()
            self.results.append((name, None))
            print("ok   " + name, flush=True)
        except Exception as error:  # noqa: BLE001 - report every failure and go on
            self.results.append((name, error))
            where = traceback.extract_tb(error.__traceback__)[-1]
            print("FAIL %s: %s (%s:%d)" % (name, "".join(traceback.format_exception_only(type(error), error)).strip(),
                                           where.filename.rsplit("/", 1)[-1], where.lineno), flush=True)
        return self.results[-1][1] is None

    @property
    def failed(self):
        return sum(1 for _, error in self.results if error)

    def finish(self, expected):
        """Prints the tally; exits non-zero on a failure or when fewer than `expected` ran."""
        print("%s: %d passed, %d failed" % (self.label, len(self.results) - self.failed, self.failed), flush=True)
        sys.exit(1 if self.failed or len(self.results) < expected else 0)
