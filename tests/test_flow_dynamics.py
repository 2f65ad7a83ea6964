"""The flow dynamics must fit a known system and cost exactly K (Euler) or 2K (Heun) calls."""
import pytest
import torch

from pwm.dynamics import FlowDynamics
from pwm.math import project_to_simplex_groups

LATENT, ACTION = 6, 2


_SYSTEM = torch.Generator().manual_seed(123)
A_MAT = torch.eye(LATENT) + 0.3 * torch.randn(LATENT, LATENT, generator=_SYSTEM) / LATENT ** 0.5
B_MAT = 0.5 * torch.randn(ACTION, LATENT, generator=_SYSTEM)


def linear_system(n: int, gen: torch.Generator):
    """Transitions of the fixed linear system z' = A z + B a."""
    a_mat, b_mat = A_MAT, B_MAT
    z = torch.randn(n, LATENT, generator=gen)
    a = torch.rand(n, ACTION, generator=gen) * 2 - 1
    return z, a, z @ a_mat.T + a @ b_mat


@pytest.fixture(scope="module")
def trained_flow():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    z, a, z_next = linear_system(4096, gen)
    flow = FlowDynamics(LATENT + ACTION, (128, 128), LATENT, simnorm_dim=2, substeps=1,
                        integrator="euler", project=False)
    opt = torch.optim.Adam(flow.parameters(), lr=2e-3)
    for step in range(1500):
        idx = torch.randint(0, len(z), (256,))
        _, loss = flow.loss(z[idx], a[idx], z_next[idx])
        opt.zero_grad()
        loss.mean().backward()
        opt.step()
    return flow, linear_system(512, gen)


@pytest.mark.parametrize("integrator", ["euler", "heun"])
@pytest.mark.parametrize("substeps", [1, 2, 4, 8])
def test_flow_reaches_the_true_next_state(trained_flow, integrator, substeps):
    flow, (z, a, z_next) = trained_flow
    flow.substeps, flow.integrator = substeps, integrator
    with torch.no_grad():
        pred = flow.next(z, a)
    # error relative to the size of the transition itself; a zero-velocity model scores 1.0
    rel = ((pred - z_next).norm(dim=-1) / (z_next - z).norm(dim=-1)).median().item()
    assert rel < 0.15, f"{integrator} K={substeps}: median relative error {rel:.3f}"


@pytest.mark.parametrize("integrator,calls_per_substep", [("euler", 1), ("heun", 2)])
@pytest.mark.parametrize("substeps", [1, 2, 4, 8])
def test_integrators_call_the_network_k_or_2k_times(integrator, calls_per_substep, substeps):
    flow = FlowDynamics(LATENT + ACTION, (16,), LATENT, 2, substeps, integrator, project=False)
    calls = []
    flow.velocity.register_forward_hook(lambda *_: calls.append(1))
    flow.next(torch.randn(3, LATENT), torch.randn(3, ACTION))
    assert len(calls) == calls_per_substep * substeps


def test_projection_choice_puts_the_integrated_latent_on_the_simplex():
    torch.manual_seed(1)
    projected = FlowDynamics(8 + ACTION, (16,), 8, 4, 2, "heun", project=True)
    raw = FlowDynamics(8 + ACTION, (16,), 8, 4, 2, "heun", project=False)
    raw.load_state_dict(projected.state_dict())
    with torch.no_grad():  # a velocity field that pushes latents off the simplex
        projected.velocity[-1].bias.copy_(torch.linspace(-2, 2, 8))
        raw.velocity[-1].bias.copy_(torch.linspace(-2, 2, 8))
    z = torch.softmax(torch.randn(5, 2, 4), -1).view(5, 8)
    a = torch.randn(5, ACTION)
    p, r = projected.next(z, a), raw.next(z, a)
    assert (r < 0).any(), "without projection the latent leaves the simplex"
    assert (p >= 0).all() and torch.allclose(p.view(5, 2, 4).sum(-1), torch.ones(5, 2))
    assert torch.allclose(p, project_to_simplex_groups(r, 4))


def test_velocity_head_is_unconstrained():
    flow = FlowDynamics(8 + ACTION, (16,), 8, 4, 1, "euler", project=False)
    assert isinstance(flow.velocity[-1], torch.nn.Linear)
    with torch.no_grad():
        flow.velocity[-1].bias.copy_(torch.tensor([-1.0, 1.0, 0, 0, 0.5, -0.5, 0, 0]))
        flow.velocity[-1].weight.zero_()
    v = flow.velocity_at(torch.zeros(1, 8), torch.zeros(1, ACTION), 0.0)
    assert (v < 0).any() and torch.allclose(v.view(2, 4).sum(-1), torch.zeros(2))
