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


def test_batch_hard_mining_hand_computed():
    from remots.models.losses import batch_hard_triplet_loss

    # 1-D features: object A at 0.0 and 1.0, object B at 1.2 and 3.0, row 4 an unknown at 0.1
    f = torch.tensor([[0.0], [1.0], [1.2], [3.0], [0.1]])
    pid = torch.tensor([0, 0, 1, 1, 2])
    positives = pid[:, None] == pid[None, :]
    negatives = (pid[:, None] != pid[None, :]) & (pid[:, None] < 2) & (pid[None, :] < 2)
    out = batch_hard_triplet_loss(f, positives, negatives, margin=0.3)
    # anchor 0: hardest positive 1.0 away, hardest negative B at 1.2 -> 1.0 - 1.2 + 0.3 = 0.1
    # anchor 1: positive 1.0, negative 0.2 -> 1.1; anchor 2: positive 1.8, negative 0.2 -> 1.9
    # anchor 3: positive 1.8, negative 2.0 -> 0.1; anchor 4: no positive, no known negative
    assert out["d_ap"][:4].tolist() == pytest.approx([1.0, 1.0, 1.8, 1.8])
    assert out["d_an"][:4].tolist() == pytest.approx([1.2, 0.2, 0.2, 2.0])
    assert out["valid"].tolist() == [True, True, True, True, False]
    assert out["loss"].item() == pytest.approx((0.1 + 1.1 + 1.9 + 0.1) / 4, abs=1e-5)
    # the unknown row at 0.1 is closest to anchor 0 but is never its negative; made a known
    # negative of A it becomes anchor 0's hardest: 1.0 - 0.1 + 0.3
    negatives[0, 4] = negatives[4, 0] = True
    out = batch_hard_triplet_loss(f, positives, negatives, margin=0.3)
    assert out["d_an"][0].item() == pytest.approx(0.1)


def test_batch_hard_without_valid_anchor_is_zero_with_a_graph():
    from remots.models.losses import batch_hard_triplet_loss

    f = torch.rand(3, 4, requires_grad=True)
    none = torch.zeros(3, 3, dtype=torch.bool)
    out = batch_hard_triplet_loss(f, none, none, distance="cosine")
    assert out["loss"].item() == 0.0 and out["loss"].requires_grad
    with pytest.raises(ValueError, match="both positive and negative"):
        both = torch.ones(3, 3, dtype=torch.bool)
        batch_hard_triplet_loss(f, both, both)
