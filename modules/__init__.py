"""NEMEA modules: one process each, built on the libtrap_py module runtime."""

import os

# Every module process imports numpy (UniRec batches) but does no linear algebra. OpenBLAS
# would start a worker thread per core at import, and those spin for a while on the cores that
# the pipeline's other processes need: one thread is enough (a user's own setting wins).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
