import torch

from pwm.layers import SimNorm
from pwm.math import lambda_returns, project_to_simplex_groups, soft_cross_entropy, two_hot, two_hot_decode


def test_two_hot_round_trip_in_symlog_space():
    x = torch.tensor([[-123.4], [-1.0], [0.0], [0.37], [5.5], [900.0]])
    encoded = two_hot(x, 101, -10, 10)
    assert torch.allclose(encoded.sum(-1), torch.ones(6))
    decoded = two_hot_decode(torch.log(encoded.clamp_min(1e-12)), -10, 10)
    assert torch.allclose(decoded, x, rtol=1e-3, atol=1e-3)


def test_soft_cross_entropy_is_lowest_at_the_target_bins():
    target = torch.tensor([[2.0]])
    good = torch.log(two_hot(target, 101, -10, 10).clamp_min(1e-9))
    bad = torch.log(two_hot(torch.tensor([[-2.0]]), 101, -10, 10).clamp_min(1e-9))
    assert soft_cross_entropy(good, target, 101, -10, 10) < soft_cross_entropy(bad, target, 101, -10, 10)


def test_simnorm_groups_lie_on_the_simplex_and_projection_keeps_them():
    z = SimNorm(8)(torch.randn(5, 64))
    groups = z.view(5, 8, 8)
    assert torch.allclose(groups.sum(-1), torch.ones(5, 8))
    assert torch.allclose(project_to_simplex_groups(z, 8), z, atol=1e-6)


def test_projection_maps_off_simplex_points_onto_it():
    z = torch.randn(4, 32)
    p = project_to_simplex_groups(z, 8).view(4, 4, 8)
    assert (p >= 0).all()
    assert torch.allclose(p.sum(-1), torch.ones(4, 4))


def test_lambda_returns_match_hand_computation():
    rewards = torch.tensor([1.0, 2.0]).view(2, 1, 1)
    values = torch.tensor([0.0, 10.0, 20.0]).view(3, 1, 1)
    g, lam = 0.9, 0.5
    g1 = 2.0 + g * 20.0
    g0 = 1.0 + g * ((1 - lam) * 10.0 + lam * g1)
    assert torch.allclose(lambda_returns(rewards, values, g, lam).flatten(), torch.tensor([g0, g1]))


def test_actor_action_mask_zeroes_padded_dimensions_and_their_gradients():
    from pwm.agent import Actor
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0])  # a 2-action task padded to 4
    actor = Actor(8, [16], 4, -1.0, -5.0, 2.0, action_mask=mask)
    z = torch.randn(32, 8)
    for deterministic in (True, False):
        a = actor(z, deterministic)
        assert (a[:, 2:] == 0).all() and (a[:, :2] != 0).any()
    actor(z).sum().backward()
    assert (actor.log_std.grad[2:] == 0).all() and (actor.log_std.grad[:2] != 0).all()
