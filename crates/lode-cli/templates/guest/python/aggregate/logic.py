"""The state of `{{function}}`: plain Python with no guest dependency, so `python3 -m unittest`
tests it."""
import math


class SumOfSquares:
    """One group's partial state: enough to merge with another and to finish."""

    def __init__(self, total: float = 0.0, count: int = 0):
        self.sum = total
        self.count = count

    def add(self, x: float):
        if not math.isfinite(x):
            raise ValueError(f"{{function}} needs finite values, got {x}")
        self.sum += x * x
        self.count += 1

    def merge(self, other: "SumOfSquares"):
        self.sum += other.sum
        self.count += other.count

    def finish(self):
        """The root mean square, or `None` (SQL null) for a group without values."""
        return math.sqrt(self.sum / self.count) if self.count else None
