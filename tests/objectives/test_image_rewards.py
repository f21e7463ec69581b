"""Image and video rewards: closed forms, gradients, SegVR/TAR weights, ensembles, learned-head loading."""

from __future__ import annotations

import math

import pytest
import torch

from gendesign.core.errors import ConfigError, GendesignError
from gendesign.core.objective import FunctionObjective
from gendesign.objectives.image_ensemble import RewardEnsemble
from gendesign.objectives.image_rewards import (
    Brightness,
    Colourfulness,
    ConditionedImage,
    Contrast,
    DenseReward,
    JpegCompressibility,
    JpegIncompressibility,
    SobelEdgeAgreement,
    sobel_edges,
)
from gendesign.objectives.video_rewards import SegmentalVideoReward, sample_segment_frames, segment_bounds, tar_weights


def constant(rgb: tuple[float, float, float], size: int = 8) -> torch.Tensor:
    return torch.tensor(rgb).view(3, 1, 1).expand(3, size, size).clone()


def test_colourfulness_matches_hasler_suesstrunk_closed_form():
    red = constant((1.0, 0.0, 0.0))
    # rg = 1, yb = 0.5 everywhere: sigma = 0, mu = sqrt(1.25)
    assert Colourfulness()([red]).values.item() == pytest.approx(0.3 * math.sqrt(1.25), abs=1e-4)
    grey = constant((0.5, 0.5, 0.5))
    assert Colourfulness()([grey]).values.item() == pytest.approx(0.0, abs=1e-3)
    half = red.clone()
    half[:, :, 4:] = constant((0.0, 1.0, 0.0))[:, :, 4:]
    # rg in {1, -1}: var 1, mean 0; yb = 0.5 everywhere: var 0, mean 0.5
    expected = math.sqrt(1.0) + 0.3 * math.sqrt(0.25)
    assert Colourfulness()([half]).values.item() == pytest.approx(expected, abs=1e-4)


def test_brightness_and_contrast_closed_forms():
    img = constant((0.2, 0.4, 0.6))
    luma = 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6
    assert Brightness()([img]).values.item() == pytest.approx(luma, abs=1e-6)
    assert Brightness(target=0.5)([img]).values.item() == pytest.approx(-((luma - 0.5) ** 2), abs=1e-6)
    checker = torch.zeros(3, 8, 8)
    checker[:, ::2, ::2] = 1
    checker[:, 1::2, 1::2] = 1
    assert Contrast()([checker]).values.item() == pytest.approx(0.5, abs=1e-5)
    with pytest.raises(ConfigError, match="target"):
        Brightness(target=2.0)


def test_differentiable_rewards_pass_gradients_to_pixels():
    img = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    for reward in (Colourfulness(), Brightness(), Contrast()):
        img.grad = None
        reward([img], grad=True).values.sum().backward()
        assert img.grad is not None and torch.isfinite(img.grad).all() and img.grad.abs().sum() > 0
    img.grad = None
    Brightness()([img], grad=True).values.sum().backward()
    w = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1) / 64
    torch.testing.assert_close(img.grad, w.expand(3, 8, 8))


def test_jpeg_rewards_rank_noise_against_flat_and_are_black_box():
    g = torch.Generator().manual_seed(0)
    noise, flat = torch.rand(3, 32, 32, generator=g), constant((0.3, 0.3, 0.3), 32)
    comp = JpegCompressibility()([noise, flat]).values.squeeze(-1)
    incomp = JpegIncompressibility()([noise, flat]).values.squeeze(-1)
    assert comp[1] > comp[0] and incomp[0] > incomp[1]
    torch.testing.assert_close(comp, -incomp)
    assert not JpegCompressibility.differentiable
    with pytest.raises(GendesignError, match="not differentiable"):
        JpegCompressibility()([noise], grad=True)


def test_sobel_edges_find_a_vertical_step_and_agreement_is_maximal_on_own_edges():
    img = torch.zeros(3, 8, 8)
    img[:, :, 4:] = 1.0
    edges = sobel_edges(img.unsqueeze(0))[0, 0]
    assert edges[:, 3:5].min() > 0.99 and edges[:, :2].max() < 1e-2 and edges[:, 6:].max() < 1e-2
    reward = SobelEdgeAgreement()
    assert isinstance(reward, DenseReward)
    own = reward([ConditionedImage(img, edges.unsqueeze(0))]).values.item()
    other = reward([ConditionedImage(img, torch.zeros(1, 8, 8))]).values.item()
    assert own == pytest.approx(0.0, abs=1e-6) and other < -0.2
    x = img.clone().requires_grad_(True)
    reward([ConditionedImage(x, torch.zeros(1, 8, 8))], grad=True).values.sum().backward()
    assert x.grad.abs().sum() > 0
    bad = reward([img])
    assert not bad.valid.item() and "ConditionedImage" in bad.errors[0]


def test_segment_bounds_and_sampled_frames_lie_in_their_segments():
    assert segment_bounds(16, 4) == [(0, 4), (4, 8), (8, 12), (12, 16)]
    assert segment_bounds(10, 3) == [(0, 3), (3, 6), (6, 10)]
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(200):
        idx = sample_segment_frames(16, 4, g)
        for i, (lo, hi) in zip(idx.tolist(), segment_bounds(16, 4)):
            assert lo <= i < hi
        seen.add(idx[0].item())
    assert seen == {0, 1, 2, 3}
    with pytest.raises(ConfigError, match="num_segments"):
        segment_bounds(3, 4)


def test_tar_weights_are_exp_of_distance_to_the_centre_frame():
    idx = torch.tensor([0, 5, 8, 15])
    torch.testing.assert_close(tar_weights(idx, 16, 1.0), torch.exp(-torch.tensor([8.0, 3.0, 0.0, 7.0])))
    torch.testing.assert_close(tar_weights(idx, 16, 0.5), torch.exp(-0.5 * torch.tensor([8.0, 3.0, 0.0, 7.0])))
    assert torch.all(tar_weights(idx, 16, 0.0) == 1)


@pytest.mark.parametrize("normalize", [False, True])
def test_segmental_video_reward_aggregates_exactly(normalize):
    frame_value = FunctionObjective(lambda xs: [float(x[0, 0, 0]) for x in xs], names="v")
    video = torch.arange(16, dtype=torch.float32).view(16, 1, 1, 1).expand(16, 3, 2, 2).clone()
    lifted = SegmentalVideoReward(frame_value, num_segments=4, tar_lambda=1.0, normalize=normalize, seed=3)
    scores = lifted([video, video])
    idx = scores.info["frame_indices"].double()  # the frame objective returns plain numbers: float64
    f = torch.exp(-(idx - 8).abs())
    expected = (f * idx).sum(1) / (f.sum(1) if normalize else 4)
    torch.testing.assert_close(scores.values.squeeze(-1), expected)
    torch.testing.assert_close(scores.info["frame_values"].squeeze(-1), idx)
    replay = SegmentalVideoReward(frame_value, num_segments=4, tar_lambda=1.0, normalize=normalize, seed=3)
    torch.testing.assert_close(replay([video, video]).info["frame_indices"], scores.info["frame_indices"])


def test_segmental_video_reward_keeps_gradients_and_state():
    video = torch.rand(8, 3, 4, 4, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    lifted = SegmentalVideoReward(Brightness(), num_segments=2, tar_lambda=1.0)
    state = lifted.state_dict()
    out = lifted([video], grad=True)
    out.values.sum().backward()
    touched = (video.grad.flatten(1).abs().sum(1) > 0).nonzero().flatten()
    assert torch.equal(touched, out.info["frame_indices"][0].sort().values)
    lifted.load_state_dict(state)
    assert torch.equal(lifted([video]).info["frame_indices"], out.info["frame_indices"])


def test_reward_ensemble_reports_mean_and_population_std():
    a = FunctionObjective(lambda xs: [1.0] * len(xs), names="r")
    b = FunctionObjective(lambda xs: [3.0] * len(xs), names="r")
    c = FunctionObjective(lambda xs: [5.0] * len(xs), names="r")
    scores = RewardEnsemble([a, b, c])([0, 1])
    torch.testing.assert_close(scores.values, torch.full((2, 1), 3.0, dtype=torch.float64))
    torch.testing.assert_close(scores.std, torch.full((2, 1), math.sqrt(8 / 3), dtype=torch.float64))
    pess = RewardEnsemble([a, b, c], pessimism=1.0)([0])
    assert pess.values.item() == pytest.approx(3.0 - math.sqrt(8 / 3), abs=1e-5)
    built = RewardEnsemble([{"name": "brightness"}, {"name": "brightness", "options": {"target": 0.5}}])
    assert built.differentiable
    with pytest.raises(ConfigError, match="at least 2"):
        RewardEnsemble([a])


def test_clip_head_reward_loads_from_a_local_directory_and_matches_manual_computation(tmp_path):
    transformers = pytest.importorskip("transformers")
    from gendesign.objectives.image_learned import CLIPHeadReward, HeadConfig, MLPHead, save_clip_head_reward

    torch.manual_seed(0)
    cfg = transformers.CLIPVisionConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=16, patch_size=8, projection_dim=8
    )
    vision = transformers.CLIPVisionModelWithProjection(cfg).eval()
    head = MLPHead(8, [4], "relu")
    save_clip_head_reward(tmp_path / "rm", vision, head, HeadConfig(embedding_dim=8, hidden_sizes=[4], activation="relu", name="aes"))
    reward = CLIPHeadReward(str(tmp_path / "rm"))
    assert reward.specs[0].name == "aes" and reward.differentiable
    imgs = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    got = reward(list(imgs)).values.squeeze(-1)
    x = torch.nn.functional.interpolate(imgs, size=(16, 16), mode="bicubic", align_corners=False)
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
    with torch.no_grad():
        emb = torch.nn.functional.normalize(vision(pixel_values=(x - mean) / std).image_embeds, dim=-1)
        torch.testing.assert_close(got, head(emb), atol=1e-5, rtol=1e-5)
    x_in = imgs[0].clone().requires_grad_(True)
    reward([x_in], grad=True).values.sum().backward()
    assert x_in.grad.abs().sum() > 0
    fp = reward.fingerprint()
    head2 = MLPHead(8, [4], "relu")
    save_clip_head_reward(tmp_path / "rm2", vision, head2, HeadConfig(embedding_dim=8, hidden_sizes=[4], activation="relu", name="aes"))
    assert CLIPHeadReward(str(tmp_path / "rm2")).fingerprint() != fp
    with pytest.raises(GendesignError, match="reward_config.json"):
        CLIPHeadReward(str(tmp_path / "missing"))


def test_vision_plugin_registers_the_rewards_and_builds_them_from_tables():
    from gendesign.core.plugins import get_plugins

    objectives = get_plugins().objectives
    names = ("jpeg_compressibility", "colourfulness", "brightness", "contrast", "sobel_edge_agreement")
    for name in (*names, "segmental_video_reward", "reward_ensemble", "clip_head_reward"):
        assert name in objectives
    lifted = objectives.build("segmental_video_reward", {"image_reward": {"name": "brightness"}, "num_segments": 2})
    video = torch.full((4, 3, 2, 2), 0.25)
    scores = lifted([video])
    idx = scores.info["frame_indices"][0].tolist()
    assert scores.values.item() == pytest.approx(0.25 * sum(math.exp(-abs(i - 2)) for i in idx) / 2, abs=1e-6)
    with pytest.raises(ConfigError, match="num_segmnets"):
        objectives.build("segmental_video_reward", {"image_reward": {"name": "brightness"}, "num_segmnets": 2})
