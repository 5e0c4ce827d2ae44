"""Static multiple-choice benchmarks: one loader per file format, all yielding :class:`MCQItem`.

``load_benchmark(name, path)`` loads any of :data:`BENCHMARKS`; bad files raise
:class:`BenchmarkFormatError` naming the file, line (or record) and field.
"""

from eval.benchmarks.errors import BenchmarkError, BenchmarkFormatError
from eval.benchmarks.registry import BENCHMARKS, Benchmark, data_root, get_benchmark, load_benchmark

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "BenchmarkError",
    "BenchmarkFormatError",
    "data_root",
    "get_benchmark",
    "load_benchmark",
]
