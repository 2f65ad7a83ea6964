"""The replay buffer's append-only persistence: each state writes only what is new, successive
states share chunks, a ring that wrapped loads exactly, and chunks of a future that did not
happen (a crash after writing them) are discarded on resume."""
import numpy as np

from pwm.buffer import FIELDS, ReplayBuffer

OBS, ACT = 3, 1


def fill(buffer, steps, start=0):
    for t in range(start, start + steps):
        obs = np.full((buffer.num_envs, OBS), t, np.float32)
        buffer.add(obs, np.zeros((buffer.num_envs, ACT)), np.full(buffer.num_envs, t), obs + 1,
                   np.array([t % 7 == 6, False]), np.array([False, t % 5 == 4]))


def same(a, b):
    x, y = a.arrays(), b.arrays()
    return x["count"] == y["count"] and all(np.array_equal(x[k], y[k]) for k in (*FIELDS, "current_episode"))


def test_states_write_only_new_steps_and_a_wrapped_ring_reloads_exactly(tmp_path):
    buffer = ReplayBuffer(2, 2 * 10, OBS, ACT)  # 10 steps per environment
    fill(buffer, 6)
    first = buffer.write_chunks(tmp_path)
    fill(buffer, 8, start=6)  # wraps: steps 4..13 are held
    second = buffer.write_chunks(tmp_path)
    assert first["chunks"] == ["000000000000-000000000006.npz"]
    assert second["chunks"] == ["000000000000-000000000006.npz", "000000000006-000000000014.npz"]
    reloaded = ReplayBuffer(2, 20, OBS, ACT)
    reloaded.load_chunks(tmp_path, second)
    assert same(buffer, reloaded)
    older = ReplayBuffer(2, 20, OBS, ACT)
    older.load_chunks(tmp_path, first)  # the previous state still loads (the fallback state)
    assert older.count == 6 and older.obs[0, 5, 0] == 5
    fill(buffer, 10, start=14)
    third = buffer.write_chunks(tmp_path)  # holds steps 14..23 alone; the previous state still needs 4..13
    assert third["chunks"] == ["000000000014-000000000024.npz"]
    assert len(list(tmp_path.iterdir())) == 3
    fill(buffer, 2, start=24)
    fourth = buffer.write_chunks(tmp_path)  # now no kept state needs a step before 14
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000000000014-000000000024.npz", "000000000024-000000000026.npz"]
    assert fourth["chunks"] == sorted(p.name for p in tmp_path.iterdir())


def test_resuming_an_older_state_discards_the_chunks_written_after_it(tmp_path):
    """(also what a restarted folder's first state does: every old chunk starts at or after 0)"""
    buffer = ReplayBuffer(2, 100, OBS, ACT)
    fill(buffer, 5)
    state = buffer.write_chunks(tmp_path)
    fill(buffer, 3, start=5)
    buffer.write_chunks(tmp_path)  # then the process died before this state was saved
    resumed = ReplayBuffer(2, 100, OBS, ACT)
    resumed.load_chunks(tmp_path, state)
    fill(resumed, 4, start=5)  # a different future
    again = resumed.write_chunks(tmp_path)
    assert again["chunks"] == ["000000000000-000000000005.npz", "000000000005-000000000009.npz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == again["chunks"]
    fresh = ReplayBuffer.from_chunks(tmp_path, again, 100)
    assert same(resumed, fresh)
