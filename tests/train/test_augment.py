"""Batch augmentation: sign conventions, reproducibility, each transform's effect, no flips."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from charrec.errors import ConfigError
from charrec.train.augment import (
    AugmentConfig,
    Augmenter,
    AugmentParams,
    _blur_matrix,
    _field_basis,
    _grid,
    _theta,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _glyph_f(size: int = 28) -> torch.Tensor:
    """An "F": left-right and up-down asymmetric, 1×1×size×size."""
    img = torch.zeros(size, size)
    img[5:23, 8:11] = 1.0  # stem
    img[5:8, 8:21] = 1.0  # top arm
    img[12:15, 8:18] = 1.0  # middle arm
    return img[None, None]


def _bar(height: int, width: int, vertical: bool = False) -> torch.Tensor:
    img = torch.zeros(height, width)
    cy, cx = height // 2, width // 2
    if vertical:
        img[cy - 8 : cy + 8, cx - 1 : cx + 1] = 1.0
    else:
        img[cy - 1 : cy + 1, cx - 8 : cx + 8] = 1.0
    return img[None, None]


def _moments(img: torch.Tensor) -> tuple[float, float, float]:
    """(centre x, centre y, orientation) of an H×W image; orientation in degrees
    counter-clockwise from +x as seen on screen (y points down)."""
    img = img.double()
    ys, xs = torch.meshgrid(
        torch.arange(img.shape[0], dtype=torch.float64),
        torch.arange(img.shape[1], dtype=torch.float64),
        indexing="ij",
    )
    mass = img.sum()
    cx, cy = (img * xs).sum() / mass, (img * ys).sum() / mass
    mu20 = (img * (xs - cx) ** 2).sum()
    mu02 = (img * (ys - cy) ** 2).sum()
    mu11 = (img * (xs - cx) * (ys - cy)).sum()
    angle = -0.5 * math.degrees(math.atan2(2 * mu11, mu20 - mu02))
    return float(cx), float(cy), angle


def _params(n: int = 1, angle=0.0, shear=0.0, scale=1.0, shift=(0.0, 0.0)) -> AugmentParams:
    return AugmentParams(
        angle=torch.full((n,), float(angle)),
        shear=torch.full((n,), float(shear)),
        scale=torch.full((n,), float(scale)),
        shift=torch.tensor([shift], dtype=torch.float32).expand(n, 2),
    )


def _warp(images: torch.Tensor, fill: float = 0.0, **kw) -> torch.Tensor:
    return Augmenter(AugmentConfig(), fill=fill).apply(images, _params(len(images), **kw))


def _corr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson correlation per image of two N×1×H×W batches."""
    a = a.flatten(1) - a.flatten(1).mean(1, keepdim=True)
    b = b.flatten(1) - b.flatten(1).mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + 1e-12)


# --- identity, reproducibility, shapes ---


def test_disabled_config_returns_the_input_unchanged() -> None:
    images = torch.rand(8, 1, 28, 28, generator=_gen())
    out = Augmenter(AugmentConfig.preset("none"), _gen())(images)
    assert torch.equal(out, images)
    assert out.data_ptr() != images.data_ptr()  # a new batch, never an alias


@pytest.mark.parametrize("fill", [0.0, -0.4242])
def test_identity_transform_reproduces_the_input(fill: float) -> None:
    images = torch.rand(16, 1, 28, 28, generator=_gen()) - 0.5
    params = _params(16)
    params.displacement = torch.zeros(16, 2, 28, 28)
    out = Augmenter(AugmentConfig(), fill=fill).apply(images, params)
    assert (out - images).abs().max() <= 1e-5


@pytest.mark.parametrize(("height", "width"), [(28, 28), (20, 16), (7, 31)])
def test_grid_is_the_affine_grid_of_the_same_matrices(height: int, width: int) -> None:
    g = _gen(3)
    params = AugmentParams(
        angle=torch.rand(32, generator=g) * 60 - 30,
        shear=torch.rand(32, generator=g) * 40 - 20,
        scale=torch.rand(32, generator=g) * 0.6 + 0.7,
        shift=torch.rand(32, 2, generator=g) * 0.4 - 0.2,
    )
    theta = _theta(params, 32, height, width, torch.empty(0))
    expected = F.affine_grid(theta, [32, 1, height, width], align_corners=False)
    assert (_grid(theta, height, width) - expected).abs().max() <= 1e-6


def test_same_seed_gives_the_same_batch_and_another_seed_another() -> None:
    images = _glyph_f().repeat(32, 1, 1, 1)
    config = AugmentConfig.preset("strong")
    first = Augmenter(config, _gen(7))(images)
    again = Augmenter(config, _gen(7))(images)
    other = Augmenter(config, _gen(8))(images)
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)
    # Consecutive batches from one generator differ too.
    augment = Augmenter(config, _gen(7))
    assert not torch.allclose(augment(images), augment(images))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_shape_dtype_and_device_are_kept(dtype: torch.dtype) -> None:
    images = torch.rand(5, 1, 28, 28, generator=_gen()).to(dtype)
    for name in AugmentConfig.preset_names():
        out = Augmenter(AugmentConfig.preset(name), _gen())(images)
        assert (out.shape, out.dtype, out.device) == (images.shape, dtype, images.device)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_batches_match_cpu_batches_for_the_same_draws() -> None:
    images = _glyph_f().repeat(16, 1, 1, 1)
    augment = Augmenter(AugmentConfig.preset("strong"), _gen(1), fill=-0.5)
    params = augment.sample(16, 28, 28)
    on_cpu = augment.apply(images, params)
    on_gpu = augment.apply(images.cuda(), params)
    assert on_gpu.device.type == "cuda"
    assert (on_gpu.cpu() - on_cpu).abs().max() <= 1e-4
    assert Augmenter(AugmentConfig.preset("strong"), _gen())(images.cuda()).is_cuda


@pytest.mark.parametrize("n", [0, 1])
def test_batches_of_zero_and_one_image(n: int) -> None:
    images = torch.rand(n, 1, 28, 28, generator=_gen())
    out = Augmenter(AugmentConfig.preset("strong"), _gen())(images)
    assert out.shape == images.shape
    if n:
        assert not torch.equal(out, images)


def test_wrong_batches_are_refused() -> None:
    augment = Augmenter(AugmentConfig.preset("light"), _gen())
    with pytest.raises(ValueError, match="N×C×H×W"):
        augment(torch.rand(28, 28))
    with pytest.raises(ValueError, match="floating-point"):
        augment(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))


# --- geometry and its sign conventions ---


def test_positive_shift_moves_content_right_and_down() -> None:
    image = _glyph_f()
    cx, cy, _ = _moments(image[0, 0])
    moved = _warp(image, shift=(3 / 28, -2 / 28))  # 3 px right, 2 px up
    mx, my, _ = _moments(moved[0, 0])
    assert mx - cx == pytest.approx(3.0, abs=1e-3)
    assert my - cy == pytest.approx(-2.0, abs=1e-3)
    assert image.sum().item() == pytest.approx(moved.sum().item(), rel=1e-5)


def test_random_shifts_stay_within_the_configured_range() -> None:
    image = _glyph_f().repeat(200, 1, 1, 1)
    out = Augmenter(AugmentConfig(shift=0.1), _gen())(image)
    cx, cy, _ = _moments(image[0, 0])
    moves = torch.tensor([_moments(o[0])[:2] for o in out]) - torch.tensor([cx, cy])
    assert moves.abs().max() <= 2.8 + 1e-3
    assert (moves > 1).any() and (moves < -1).any()  # both directions, both axes


@pytest.mark.parametrize(("height", "width"), [(28, 28), (32, 48)])
@pytest.mark.parametrize("angle", [20.0, -20.0])
def test_positive_rotation_is_counter_clockwise(height: int, width: int, angle: float) -> None:
    bar = _bar(height, width)
    assert _moments(bar[0, 0])[2] == pytest.approx(0.0, abs=1e-6)
    turned = _warp(bar, angle=angle)
    # On screen the right end of the bar goes up for a positive angle.
    assert _moments(turned[0, 0])[2] == pytest.approx(angle, abs=1.0)


def test_positive_shear_slants_like_italics() -> None:
    bar = _bar(28, 28, vertical=True)
    slanted = _warp(bar, shear=15.0)[0, 0]
    top_x = _moments(slanted[:14])[0]
    bottom_x = _moments(slanted[14:])[0]
    assert top_x > bottom_x + 1.0
    # A vertical stroke leans 15° from the vertical, towards the right at the top.
    assert _moments(slanted)[2] == pytest.approx(90.0 - 15.0, abs=1.5)


def test_scale_above_one_enlarges_the_ink_about_the_image_centre() -> None:
    image = _glyph_f()
    bigger, smaller = _warp(image, scale=1.3), _warp(image, scale=0.8)
    assert bigger.sum() / image.sum() == pytest.approx(1.3**2, rel=0.05)
    assert smaller.sum() / image.sum() == pytest.approx(0.8**2, rel=0.05)
    assert (bigger > 0.5).sum() > (image > 0.5).sum() > (smaller > 0.5).sum()
    # A smooth off-centre blob moves away from the centre (13.5, 13.5) by the factor.
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    blob = torch.exp(-((xs - 9) ** 2 + (ys - 17) ** 2) / 8)[None, None]
    cx, cy, _ = _moments(_warp(blob, scale=1.3)[0, 0])
    assert cx == pytest.approx(13.5 + 1.3 * (9 - 13.5), abs=0.02)
    assert cy == pytest.approx(13.5 + 1.3 * (17 - 13.5), abs=0.02)


def test_outside_of_the_image_is_filled_with_the_fill_value() -> None:
    fill = -0.4242
    image = torch.full((3, 1, 28, 28), fill)
    image[:, :, 10:18, 10:18] = 2.0
    out = _warp(image, fill=fill, shift=(0.25, 0.0))  # 7 px right
    assert torch.allclose(out[..., :7], torch.tensor(fill), atol=1e-6)
    # Any transform of a blank (all background) image stays blank.
    blank = torch.full((4, 1, 28, 28), fill)
    out = Augmenter(AugmentConfig.preset("strong"), _gen(), fill=fill)(blank)
    assert torch.allclose(out, blank, atol=1e-6)


# --- elastic distortion and erasing ---


def test_elastic_distortion_keeps_the_ink_mass_and_changes_the_image() -> None:
    images = _glyph_f().repeat(256, 1, 1, 1)
    out = Augmenter(AugmentConfig(elastic_alpha=34.0, elastic_sigma=4.0), _gen())(images)
    ratio = out.sum(dim=(1, 2, 3)) / images.sum(dim=(1, 2, 3))
    # Strokes get locally thicker or thinner, but the ink is moved, not made or lost.
    assert ratio.mean().item() == pytest.approx(1.0, abs=0.03)
    assert (ratio - 1).abs().median() < 0.15
    change = (out - images).abs().sum(dim=(1, 2, 3)) / images.sum(dim=(1, 2, 3))
    assert (change > 0.05).all()
    assert not torch.allclose(out[0], out[1])


def test_thickness_broadens_and_thins_the_pen_in_place() -> None:
    image = _glyph_f()
    pen = Augmenter(AugmentConfig(thickness=1.0))
    wider = pen.apply(image, AugmentParams(thickness=torch.tensor([1.0])))
    finer = pen.apply(image, AugmentParams(thickness=torch.tensor([-0.5])))
    same = pen.apply(image, AugmentParams(thickness=torch.tensor([0.0])))
    assert torch.equal(same, image)
    # A full dilation adds a one-pixel rim; half an erosion dims the strokes' edges.
    assert wider.sum() > 1.5 * image.sum()
    assert 0.5 * image.sum() < finer.sum() < image.sum()
    assert (wider >= image).all() and (finer <= image).all()
    # The pen changes, the place hardly does (the F is lopsided, so its mass moves a little).
    for out in (wider, finer):
        assert _moments(out[0, 0])[:2] == pytest.approx(_moments(image[0, 0])[:2], abs=0.5)


def test_aspect_widens_and_flattens_the_ink_about_the_centre() -> None:
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    blob = torch.exp(-((xs - 11) ** 2 + (ys - 15) ** 2) / 6)[None, None]
    augment = Augmenter(AugmentConfig(aspect=0.5))
    wide = augment.apply(blob, AugmentParams(aspect=torch.tensor([1.5])))[0, 0]
    same = augment.apply(blob, AugmentParams(aspect=torch.tensor([1.0])))[0, 0]
    assert torch.allclose(same, blob[0, 0], atol=1e-5)

    def spread(img: torch.Tensor) -> tuple[float, float]:
        cx, cy, _ = _moments(img)
        mass = img.sum()
        return (
            float(((img * (xs - cx) ** 2).sum() / mass).sqrt()),
            float(((img * (ys - cy) ** 2).sum() / mass).sqrt()),
        )

    (sx, sy), (wx, wy) = spread(blob[0, 0]), spread(wide)
    assert wx == pytest.approx(1.5 * sx, rel=0.03)
    assert wy == pytest.approx(sy / 1.5, rel=0.05)
    # Area is kept, and the off-centre blob moves along x by r and along y by 1/r.
    assert wide.sum() == pytest.approx(blob.sum().item(), rel=0.02)
    cx, cy, _ = _moments(wide)
    assert cx == pytest.approx(13.5 + 1.5 * (11 - 13.5), abs=0.05)
    assert cy == pytest.approx(13.5 + (15 - 13.5) / 1.5, abs=0.05)


def test_random_aspect_is_log_symmetric_within_the_range() -> None:
    params = Augmenter(AugmentConfig(aspect=0.5), _gen()).sample(4000, 28, 28)
    assert params.aspect is not None
    log_r = params.aspect.log()
    assert log_r.abs().max() <= math.log(1.5) + 1e-6
    assert log_r.max() > 0.9 * math.log(1.5) and log_r.min() < -0.9 * math.log(1.5)
    assert abs(log_r.mean().item()) < 0.02


def test_aspect_leaves_the_other_draws_of_a_seed_unchanged() -> None:
    plain = AugmentConfig.preset("strong")
    before = Augmenter(plain, _gen(3)).sample(64, 28, 28)
    after = Augmenter(plain.with_options(aspect=0.3), _gen(3)).sample(64, 28, 28)
    for name in ("angle", "shear", "scale", "shift", "displacement", "erase"):
        assert torch.equal(getattr(before, name), getattr(after, name))
    assert before.aspect is None and after.aspect is not None


def test_low_resolution_makes_jagged_two_level_strokes() -> None:
    # A thin diagonal stroke, 2 pixels wide, on a paper of -0.5 (a normalised background).
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    stroke = ((xs - ys).abs() <= 1).float() * ((ys > 4) & (ys < 23)).float()
    image = (stroke - 0.5)[None, None]
    augment = Augmenter(AugmentConfig(lowres=1.0), fill=-0.5)
    kept = augment.apply(image, AugmentParams(lowres=torch.tensor([[0.0, 0.0]])))
    assert torch.equal(kept, image)
    gray = augment.apply(image, AugmentParams(lowres=torch.tensor([[10.0, 0.0]])))[0, 0]
    cut = augment.apply(image, AugmentParams(lowres=torch.tensor([[10.0, 1.0]])))[0, 0]
    for out in (gray, cut):
        # The paper stays paper, the stroke stays where it was, its detail is gone.
        assert out[0].max() == pytest.approx(-0.5, abs=1e-6)
        assert _moments(out + 0.5)[:2] == pytest.approx(_moments(stroke)[:2], abs=1.0)
        assert not torch.allclose(out, image[0, 0], atol=0.1)
    # Reduced to 10 pixels, a stroke 2 pixels wide is under one pixel: gray keeps it faint,
    # the two-level cut brings it back to full brightness, in blocks.
    assert (gray + 0.5).max() < 0.8
    assert (cut + 0.5).max() > 0.9


def test_random_low_resolution_draws_and_seed_stream() -> None:
    config = AugmentConfig(lowres=0.3, lowres_size=(12, 20), lowres_binary=0.5)
    params = Augmenter(config, _gen()).sample(4000, 28, 28)
    assert params.lowres is not None
    side, binary = params.lowres.unbind(1)
    reduced = side > 0
    assert 0.27 < reduced.float().mean() < 0.33
    assert set(side[reduced].unique().tolist()) == set(range(12, 21))
    assert 0.45 < binary.mean() < 0.55
    # Drawn last: the other draws of a seed are unchanged.
    plain = AugmentConfig.preset("strong").with_options(aspect=0.2)
    before = Augmenter(plain, _gen(3)).sample(64, 28, 28)
    after = Augmenter(plain.with_options(lowres=0.5), _gen(3)).sample(64, 28, 28)
    for name in ("angle", "shear", "scale", "shift", "displacement", "erase", "aspect"):
        assert torch.equal(getattr(before, name), getattr(after, name))
    assert before.lowres is None
    with pytest.raises(ConfigError, match="lowres_size"):
        AugmentConfig(lowres=0.5, lowres_size=(20, 10))
    with pytest.raises(ConfigError, match="lowres"):
        AugmentConfig(lowres=1.5)


def _ink_box(image: torch.Tensor, paper: float = 0.0) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pixels with over half the brightest ink."""
    ink = image - paper
    rows, cols = torch.where(ink > ink.max() / 2)
    return int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())


def test_stretch_fills_a_square_with_a_narrow_character() -> None:
    # A bar 4 wide and 16 tall on a paper of -0.5; near the right edge, so the square
    # must move left to stay inside the frame.
    image = torch.full((1, 1, 28, 28), -0.5)
    image[0, 0, 6:22, 10:14] = 0.5
    edge = torch.full((1, 1, 28, 28), -0.5)
    edge[0, 0, 6:22, 22:26] = 0.5
    augment = Augmenter(AugmentConfig(stretch=1.0), fill=-0.5)
    chosen = AugmentParams(stretch=torch.tensor([True]))
    out = augment.apply(image, chosen)[0, 0]
    top, bottom, left, right = _ink_box(out, -0.5)
    assert (top, bottom) == (6, 21)  # the longer side is kept
    assert right - left + 1 == pytest.approx(16, abs=1)  # the shorter one enlarged to it
    assert (left + right) / 2 == pytest.approx(11.5, abs=0.5)  # about the box's centre
    assert out[14, left + 1 : right].min() > 0.3  # filled across, not two copies
    moved = augment.apply(edge, chosen)[0, 0]
    top, bottom, left, right = _ink_box(moved, -0.5)
    assert right == 27 and right - left + 1 == pytest.approx(16, abs=1)
    assert moved.max() == pytest.approx(0.5, abs=1e-5)
    # Not chosen, square already or blank: unchanged.
    assert torch.equal(augment.apply(image, AugmentParams(stretch=torch.tensor([False]))), image)
    square = torch.full((1, 1, 28, 28), -0.5)
    square[0, 0, 6:22, 6:22] = 0.5
    assert torch.allclose(augment.apply(square, chosen), square, atol=1e-5)
    blank = torch.full((1, 1, 28, 28), -0.5)
    assert torch.allclose(augment.apply(blank, chosen), blank)


def test_random_stretch_draws_and_seed_stream() -> None:
    params = Augmenter(AugmentConfig(stretch=0.2), _gen()).sample(4000, 28, 28)
    assert params.stretch is not None and params.stretch.dtype == torch.bool
    assert 0.17 < params.stretch.float().mean() < 0.23
    # Drawn last: the other draws of a seed are unchanged.
    plain = AugmentConfig.preset("strong").with_options(aspect=0.2, lowres=0.3)
    before = Augmenter(plain, _gen(3)).sample(64, 28, 28)
    after = Augmenter(plain.with_options(stretch=0.5), _gen(3)).sample(64, 28, 28)
    for name in ("angle", "shear", "scale", "shift", "displacement", "erase", "aspect", "lowres"):
        assert torch.equal(getattr(before, name), getattr(after, name))
    assert before.stretch is None
    assert AugmentConfig(stretch=0.1).enabled


def test_random_thickness_stays_within_the_configured_range() -> None:
    params = Augmenter(AugmentConfig(thickness=0.4), _gen()).sample(2000, 28, 28)
    assert params.thickness is not None
    assert params.thickness.abs().max() <= 0.4
    assert params.thickness.min() < -0.3 and params.thickness.max() > 0.3


def test_elastic_field_has_the_statistics_of_smoothed_uniform_noise() -> None:
    """The low-rank draw matches Simard's G·U·Gᵀ field in variance at every pixel."""
    sigma, alpha, n = 4.0, 34.0, 3000
    augment = Augmenter(AugmentConfig(elastic_alpha=alpha, elastic_sigma=sigma), _gen())
    field = augment.sample(n, 28, 28).displacement
    assert field is not None and field.shape == (n, 2, 28, 28)
    blur = _blur_matrix(28, sigma).float()
    noise = torch.rand(n, 2, 28, 28, generator=_gen(1)) * 2 - 1
    direct = alpha * (blur @ noise @ blur.T)
    expected = direct.var(dim=(0, 1))
    assert ((field.var(dim=(0, 1)) - expected).abs() / expected).max() < 0.1
    assert field.mean().abs() < 0.05 * field.std()
    assert _field_basis(28, sigma, torch.device("cpu")).shape[1] < 28 // 2


def test_erasing_fills_one_rectangle_of_the_configured_area() -> None:
    n, size, fill = 300, 28, -1.0
    config = AugmentConfig(erasing=1.0, erasing_area=(0.05, 0.2))
    out = Augmenter(config, _gen(), fill=fill)(torch.ones(n, 1, size, size))
    erased = out[:, 0] == fill
    assert set(out.unique().tolist()) == {fill, 1.0}
    areas = []
    for mask in erased:  # checking only: the augmenter itself has no per-image loop
        rows, cols = mask.any(1).nonzero()[:, 0], mask.any(0).nonzero()[:, 0]
        h, w = len(rows), len(cols)
        assert rows[-1] - rows[0] + 1 == h and cols[-1] - cols[0] + 1 == w
        assert mask.sum() == h * w  # a full rectangle
        # The drawn area is rounded to whole pixels: at most half a row or column off.
        slack = max(h, w) / 2
        assert 0.05 * size * size - slack <= h * w <= 0.2 * size * size + slack
        areas.append(h * w)
    areas_t = torch.tensor(areas, dtype=torch.float32) / size**2
    assert areas_t.min() < 0.08 and areas_t.max() > 0.17  # the whole range is used


def test_erasing_happens_with_the_configured_probability() -> None:
    out = Augmenter(AugmentConfig(erasing=0.3), _gen())(torch.ones(2000, 1, 28, 28))
    erased = (out == 0).flatten(1).any(1).float().mean().item()
    assert erased == pytest.approx(0.3, abs=0.03)


# --- no flips ---


def _similarity(images: torch.Tensor, template: torch.Tensor, reach: int = 6) -> torch.Tensor:
    """Cosine similarity of each image with `template`, best over shifts up to `reach` px,
    so that a shifted glyph still matches itself."""
    dots = F.conv2d(images, template, padding=reach).flatten(1).amax(1)
    return dots / (images.flatten(1).norm(dim=1) * template.norm() + 1e-12)


@pytest.mark.parametrize("preset", ["standard", "strong"])
def test_augmentation_never_mirrors_a_character(preset: str) -> None:
    glyph = _glyph_f()
    out = Augmenter(AugmentConfig.preset(preset), _gen(11))(glyph.repeat(300, 1, 1, 1))
    original = _similarity(out, glyph)
    for mirror in (glyph.flip(-1), glyph.flip(-2), glyph.flip(-1).flip(-2)):
        closer_to_mirror = (_similarity(out, mirror) >= original).float().mean().item()
        if preset == "standard":
            assert closer_to_mirror == 0.0
        else:
            # Erasing can remove the stroke that tells an F from its mirror in a few
            # samples; a random flip would put about half of them on the mirror's side.
            assert closer_to_mirror < 0.05
        assert original.mean() > _similarity(out, mirror).mean() + 0.1


def test_every_affine_draw_keeps_handedness() -> None:
    config = AugmentConfig(rotation=180, scale=0.9, shear=45, shift=0.5, aspect=1.0)
    augment = Augmenter(config, _gen())
    theta = _theta(augment.sample(10_000, 28, 28), 10_000, 28, 28, torch.empty(0))
    assert (torch.linalg.det(theta[:, :, :2]) > 0).all()


# --- configuration ---


def test_presets_grow_in_strength() -> None:
    none, light, standard, strong = (AugmentConfig.preset(n) for n in AugmentConfig.preset_names())
    assert not none.enabled and none == AugmentConfig()
    assert light.rotation == 8 and light.shift == 0.08 and light.scale == 0.08
    assert light.shear == 5
    assert standard.affine and not standard.elastic and standard.erasing == 0
    assert strong.elastic and strong.erasing > 0
    assert light.rotation <= standard.rotation <= strong.rotation
    with pytest.raises(ConfigError, match="unknown augmentation preset 'heavy'"):
        AugmentConfig.preset("heavy")


def test_config_round_trips_through_plain_values() -> None:
    config = AugmentConfig.preset("strong")
    values = config.to_dict()
    assert values["erasing_area"] == [0.02, 0.15]  # what YAML writes
    assert AugmentConfig.from_dict(values) == config
    assert config.with_options(erasing=0.0).erasing == 0.0
    with pytest.raises(ConfigError, match="unknown augmentation option 'flip'"):
        AugmentConfig.from_dict({"flip": True})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rotation", -1.0),
        ("rotation", 400.0),
        ("rotation", float("nan")),
        ("rotation", "10"),
        ("rotation", True),
        ("shift", 0.8),
        ("scale", 1.0),
        ("shear", 60.0),
        ("elastic_alpha", -5.0),
        ("elastic_alpha", 1e4),
        ("elastic_sigma", 0.0),
        ("erasing", 1.5),
        ("erasing_area", (0.3, 0.1)),
        ("erasing_area", (0.0, 0.1)),
        ("erasing_area", (0.1, 1.5)),
        ("erasing_area", 0.1),
        ("erasing_ratio", (0.01, 1.0)),
        ("erasing_ratio", (1.0, 50.0)),
        ("thickness", -0.5),
        ("thickness", 1.5),
        ("aspect", -0.1),
        ("aspect", 2.0),
        ("stretch", -0.1),
        ("stretch", 1.5),
    ],
)
def test_bad_values_name_the_option(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"'{field}'"):
        AugmentConfig(**{field: value})


def test_bad_fill_and_config_types_are_refused() -> None:
    with pytest.raises(ConfigError, match="'fill'"):
        Augmenter(AugmentConfig(), fill=float("inf"))
    with pytest.raises(ConfigError, match="AugmentConfig"):
        Augmenter("strong")  # type: ignore[arg-type]
