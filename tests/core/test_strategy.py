import numpy as np

from gendesign.core.sequence_space import SequenceSpace
from gendesign.core.strategy import ProposalMemory


def test_proposal_memory_serves_initial_designs_once_and_round_trips():
    space = SequenceSpace("AB", length=3)
    memory = ProposalMemory(space, ["AAB", [1, 1, 1], "AAB", "BBA"])
    assert memory.mark("BBA") and not memory.mark("BBA")
    assert memory.initial(2) == ["AAB", "BBB"]
    restored = ProposalMemory(space)
    restored.load_state_dict(memory.state_dict())
    assert restored.initial(5) == [] and memory.initial(5) == []
    assert restored.order == ["BBA", "AAB", "BBB"] and "BBB" in restored and len(restored) == 3
    fresh = [d for d in space.sample(64, np.random.default_rng(0)) if restored.mark(space.key(d))]
    assert not {"BBA", "AAB", "BBB"} & set(fresh)
