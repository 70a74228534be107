"""mulberry32, bit-for-bit the generator of plugins/tinker/tiny/rng.ts (init, shuffles, sampling)."""

import struct

_M32 = 0xFFFFFFFF


def _imul(a, b):
    return (a * b) & _M32


def mulberry32(seed):
    """A uniform [0, 1) generator seeded with a 32-bit integer (other numbers are truncated)."""
    state = int(seed) & _M32

    def next_float():
        nonlocal state
        state = (state + 0x6D2B79F5) & _M32
        a = state
        t = _imul(a ^ (a >> 15), 1 | a)
        t = ((t + _imul(t ^ (t >> 7), 61 | t)) & _M32) ^ t
        return ((t ^ (t >> 14)) & _M32) / 4294967296.0

    return next_float


def fround(x):
    """Round a float to float32 precision (JavaScript's Math.fround)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def uniform_list(n, rng, lo, hi):
    """``n`` draws of U(lo, hi), each rounded to float32, in index order."""
    return [fround(lo + (hi - lo) * rng()) for _ in range(n)]
