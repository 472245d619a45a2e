"""torch runs single-threaded in tests: small models gain nothing from threads, and on a shared
machine competing OpenMP thread pools slow every process down."""

from __future__ import annotations

import torch

torch.set_num_threads(1)
