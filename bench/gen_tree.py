#!/usr/bin/env python3
"""Writes a deterministic release-like tree: FILES files totalling about BYTES, compressing
about 2:1 under gzip (half random bytes, half repetitive source-like text), in nested folders."""
import os
import random
import sys

out, files, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(42)
text = b"".join(b"    def handler_%d(self, hass, entry):  # %08x\n" % (i, i * 2654435761 % 2**32) for i in range(200))
per_file = total // files
for i in range(files):
    d = os.path.join(out, "custom_components", "pkg", "dir%02d" % (i % 40), "sub%d" % (i % 3))
    os.makedirs(d, exist_ok=True)
    size = max(0, int(per_file * rng.uniform(0.2, 1.8)))
    chunks = []
    while sum(map(len, chunks)) < size:
        chunks.append(rng.randbytes(4096))
        chunks.append(text[: 4096])
    with open(os.path.join(d, "file%05d.py" % i), "wb") as f:
        f.write(b"".join(chunks)[:size])
    if i % 50 == 0:
        os.chmod(os.path.join(d, "file%05d.py" % i), 0o755)
