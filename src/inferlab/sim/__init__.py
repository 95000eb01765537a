"""The simulated endpoint: an OpenAI-compatible streaming API with a timing model.

    from inferlab.sim import SimConfig, SimServer
    with SimServer(SimConfig(ttft_ms=200, tpot_ms=20)) as sim:
        sim.base_url   # "http://127.0.0.1:PORT/v1"
        sim.truth()    # what the sim did, stamped with perf_counter_ns

Never imports streamlit. The timing model is described in :mod:`inferlab.sim.config`.
"""

from inferlab.sim.app import FAULT_HEADER, SimState, build_app
from inferlab.sim.config import (
    CHARS_PER_TOKEN,
    FAULTS,
    SimConfig,
    count_prompt_tokens,
    load_answers,
)
from inferlab.sim.server import SimServer, check_host
from inferlab.sim.truth import TruthRecord

__all__ = [
    "CHARS_PER_TOKEN",
    "FAULTS",
    "FAULT_HEADER",
    "SimConfig",
    "SimServer",
    "SimState",
    "TruthRecord",
    "build_app",
    "check_host",
    "count_prompt_tokens",
    "load_answers",
]
