import pytest
import torch

from remots.models.losses import triplet_distances, triplet_loss, warmup_multistep


def test_triplet_loss_hand_computed_euclidean():
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    p = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    n = torch.tensor([[2.0, 0.0], [1.1, 0.0]])
    # d_ap = 1; d_an = 2 -> max(0, 1 - 2 + 0.3) = 0; d_an = 1.1 -> 0.2
    assert triplet_loss(a, p, n, margin=0.3).item() == pytest.approx(0.1, abs=1e-5)


def test_triplet_loss_hand_computed_cosine():
    a = torch.tensor([[1.0, 0.0]])
    p = torch.tensor([[2.0, 0.0]])  # cos 1 -> distance 0
    n = torch.tensor([[0.0, 5.0]])  # cos 0 -> distance 1
    d_ap, d_an = triplet_distances(a, p, n, distance="cosine")
    assert d_ap.item() == pytest.approx(0.0, abs=1e-6) and d_an.item() == pytest.approx(1.0)
    assert triplet_loss(a, n, p, margin=0.3, distance="cosine").item() == pytest.approx(1.3)
    with pytest.raises(ValueError):
        triplet_loss(a, p, n, distance="manhattan")


def test_warmup_then_step_decay():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = warmup_multistep(opt, warmup_steps=4, warmup_factor=0.2, milestones=[6, 8], gamma=0.1)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 0.1, 0.1, 0.01, 0.01])
