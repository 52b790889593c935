"""Data augmentation for whole batches of character images, with tensor ops.

One random affine transform per image (rotation, shear, scale, shift) and an optional
elastic distortion are folded into one sampling grid, so the geometric part is a single
`grid_sample` per batch; pen thickness is a blend with one 3×3 grey dilation or erosion;
random erasing is one vectorised mask. Nothing loops over the
images in Python, and all randomness comes from one `torch.Generator`, so a seed
reproduces a batch exactly.

There are deliberately no flips: a mirrored character is often another character (b↔d and
p↔q left-right, b↔p and d↔q upside down) or no character at all, so every transform here
keeps the handedness of the glyph (the affine part always has a positive determinant).

Conventions, in image coordinates (x to the right, y down):

- positive shift x moves the content right, positive shift y moves it down;
- positive rotation turns the content counter-clockwise as seen on screen;
- positive shear slants vertical strokes to the right at the top, like italics;
- scale > 1 makes the content larger;
- aspect r > 1 makes the content wider by r and lower by 1/r (its area is kept);
- elastic displacement d (pixels) samples the output at x from the input at x + d(x),
  as in Simard, Steinkraus and Platt (2003);
- thickness t > 0 blends a fraction t of the 3×3 grey dilation in (a broader pen), t < 0
  a fraction -t of the erosion (a finer one); ink is bright on a dark background;
- lowres redraws an image as a small scan would hold it: area-reduced to s×s pixels (s
  from `lowres_size`), for a share `lowres_binary` of those cut to two levels (ink where
  at least half the ink's brightness is left), then enlarged back bilinearly (jagged,
  uneven strokes);
- stretch resizes an image's ink box to a square about its centre, the shorter side
  enlarged to the longer (a narrow character becomes as wide as it is tall), as pictures
  resized to fill a box without keeping their proportions hold it; done after the pen
  and before lowres, since such pictures are usually stretched before they are cut to
  two levels or reduced.

`benchmark()` times each preset on a batch of 256 28×28 images.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as F

from charrec.errors import ConfigError, unknown_choice

# Largest sensible value of each option: beyond these the character is destroyed (or, for
# scale ≥ 1 and shear ≥ 90°, the transform degenerates), so a larger value is a typo.
_LIMITS: dict[str, float] = {
    "rotation": 180.0,
    "shift": 0.5,
    "scale": 0.9,
    "shear": 45.0,
    "elastic_alpha": 200.0,
    "elastic_sigma": 50.0,
    "erasing": 1.0,
    "thickness": 1.0,
    "aspect": 1.0,
    "lowres": 1.0,
    "lowres_binary": 1.0,
    "stretch": 1.0,
}

_PRESETS: dict[str, dict[str, Any]] = {
    "none": {},
    "light": {"rotation": 8.0, "shift": 0.08, "scale": 0.08, "shear": 5.0},
    "standard": {"rotation": 10.0, "shift": 0.1, "scale": 0.1, "shear": 10.0},
    "strong": {
        "rotation": 12.0,
        "shift": 0.1,
        "scale": 0.12,
        "shear": 12.0,
        "elastic_alpha": 34.0,
        "elastic_sigma": 4.0,
        "erasing": 0.5,
        "erasing_area": (0.02, 0.15),
    },
}


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"augmentation option {name!r} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"augmentation option {name!r} must be finite, got {value!r}")
    return float(value)


def _range(name: str, value: Any, low: float, high: float) -> tuple[float, float]:
    """A (min, max) pair with low ≤ min ≤ max ≤ high and min > 0."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ConfigError(f"augmentation option {name!r} must be a pair (min, max), got {value!r}")
    lo, hi = (_number(name, v) for v in value)
    if not (low < lo <= hi <= high):
        raise ConfigError(
            f"augmentation option {name!r} must satisfy {low} < min ≤ max ≤ {high}, "
            f"got ({lo}, {hi})"
        )
    return lo, hi


@dataclass(frozen=True)
class AugmentConfig:
    """What to randomise, each image independently; every option is off by default.

    Magnitudes are maxima of symmetric uniform ranges. There is no flip option on purpose
    (a mirrored character can be another character); see the module notes.
    """

    rotation: float = 0.0  # degrees, uniform in [-rotation, rotation], positive = CCW
    shift: float = 0.0  # fraction of width/height, uniform in [-shift, shift] per axis
    scale: float = 0.0  # relative size change: factor uniform in [1 - scale, 1 + scale]
    shear: float = 0.0  # degrees of horizontal shear, uniform in [-shear, shear]
    elastic_alpha: float = 0.0  # elastic displacement scale in pixels; 0 = off
    elastic_sigma: float = 4.0  # std in pixels of the Gaussian smoothing the field
    erasing: float = 0.0  # probability of erasing one rectangle per image
    erasing_area: tuple[float, float] = (0.02, 0.15)  # fraction of the image erased
    erasing_ratio: tuple[float, float] = (0.3, 3.3)  # height / width of the rectangle
    # Pen width: fraction of a 3×3 dilation (> 0) or erosion (< 0), uniform in ±thickness.
    # People's pens vary far more than those of the scans the data sets were made from.
    thickness: float = 0.0
    # Width against height: the width is stretched by a factor r and the height by 1/r,
    # log r uniform in ±log(1 + aspect). Writers' letters come narrow and wide, and many
    # pictures are resized to fill a box, which stretches a narrow character sideways.
    aspect: float = 0.0
    # Probability of redrawing an image at a low resolution (see the module notes): scans
    # of 16×16 or 32×32 pixels, small photos. Side in pixels of the reduced image, and the
    # share of reduced images made two-level (a scanner's line-art mode, binary data sets).
    lowres: float = 0.0
    lowres_size: tuple[float, float] = (12.0, 24.0)
    lowres_binary: float = 0.5
    # Probability of stretching an image so that its ink fills a square (see the module
    # notes): scans stretched to a fixed box (Semeion's 16×16), pictures cropped tight to
    # the ink and resized without keeping their proportions.
    stretch: float = 0.0

    def __post_init__(self) -> None:
        for name, high in _LIMITS.items():
            value = _number(name, getattr(self, name))
            if not 0.0 <= value <= high:
                raise ConfigError(
                    f"augmentation option {name!r} must be between 0 and {high}, got {value}"
                )
            object.__setattr__(self, name, value)
        if self.elastic_sigma <= 0.0:
            raise ConfigError(
                f"augmentation option 'elastic_sigma' must be positive, got {self.elastic_sigma}"
            )
        # Tuples, also when the values come from YAML lists.
        object.__setattr__(self, "erasing_area", _range("erasing_area", self.erasing_area, 0, 1))
        size = _range("lowres_size", self.lowres_size, 2.0, 1024.0)
        object.__setattr__(self, "lowres_size", size)
        ratio = _range("erasing_ratio", self.erasing_ratio, 0.0, 10.0)
        if ratio[0] < 0.1:
            raise ConfigError(
                f"augmentation option 'erasing_ratio' must stay within [0.1, 10], got {ratio}"
            )
        object.__setattr__(self, "erasing_ratio", ratio)

    @classmethod
    def preset(cls, name: str) -> AugmentConfig:
        """A named preset: "none", "light", "standard" (affine only) or "strong"
        (stronger affine, elastic distortion and random erasing)."""
        if name not in _PRESETS:
            raise unknown_choice("augmentation preset", name, list(_PRESETS))
        return cls(**_PRESETS[name])

    @staticmethod
    def preset_names() -> list[str]:
        """Preset names from weakest to strongest."""
        return list(_PRESETS)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> AugmentConfig:
        """Build from a mapping (e.g. read from YAML); unknown keys are errors."""
        names = [f.name for f in fields(cls)]
        for key in values:
            if key not in names:
                raise unknown_choice("augmentation option", str(key), names)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (pairs as lists) that `from_dict` reads back."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def with_options(self, **changes: Any) -> AugmentConfig:
        """A copy with some options changed, validated."""
        return replace(self, **changes)

    @property
    def affine(self) -> bool:
        return any((self.rotation, self.shift, self.scale, self.shear, self.aspect))

    @property
    def elastic(self) -> bool:
        return self.elastic_alpha > 0.0

    @property
    def enabled(self) -> bool:
        parts = (self.erasing, self.thickness, self.lowres, self.stretch)
        return self.affine or self.elastic or any(p > 0.0 for p in parts)


@dataclass
class AugmentParams:
    """The random draws for one batch; None means that part is not applied.

    angle, shear, scale: (N,) degrees, degrees, factor. shift: (N, 2) fractions of
    (width, height). displacement: (N, 2, H, W) elastic (dx, dy) in pixels. erase: (N, 4)
    int64 rectangles (top, left, height, width), height 0 meaning no erasing. thickness:
    (N,) fraction of dilation (> 0) or erosion (< 0) blended in. aspect: (N,) factor
    stretching the width (the height by its inverse). lowres: (N, 2) side in pixels of
    the reduced image (0: kept as it is) and 1 where it is cut to two levels. stretch:
    (N,) bool, the images whose ink box is stretched to a square.
    """

    angle: torch.Tensor | None = None
    shear: torch.Tensor | None = None
    scale: torch.Tensor | None = None
    shift: torch.Tensor | None = None
    displacement: torch.Tensor | None = None
    erase: torch.Tensor | None = None
    thickness: torch.Tensor | None = None
    aspect: torch.Tensor | None = None
    lowres: torch.Tensor | None = None
    stretch: torch.Tensor | None = None

    @property
    def geometric(self) -> bool:
        parts = (self.angle, self.shear, self.scale, self.shift, self.displacement, self.aspect)
        return any(p is not None for p in parts)


def _blur_matrix(size: int, sigma: float) -> torch.Tensor:
    """Gaussian blur along one axis as a size×size matrix, zero padding outside the image."""
    radius = math.ceil(3.0 * sigma)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    index = torch.arange(size)
    distance = index[:, None] - index[None, :]
    inside = distance.abs() <= radius
    return torch.where(inside, kernel[(distance + radius).clamp(0, 2 * radius)], 0.0)


@lru_cache(maxsize=16)
def _field_basis(size: int, sigma: float, device: torch.device) -> torch.Tensor:
    """B (size×r) with B·Bᵀ ≈ G·Gᵀ, G the blur matrix, keeping 99.99% of the variance.

    Simard's field is G·U·Gᵀ with U uniform noise in [-1, 1] per pixel: a near-Gaussian
    random field whose covariance along each axis is G·Gᵀ (up to the 1/3 of U). The same
    field is B·Z·Bᵀ with Z uniform noise of only r×r values in the eigenbasis of that
    covariance; r is about 7 for 28 pixels and σ = 4, so the generator, the bottleneck on
    CPU, draws 16 times fewer numbers.
    """
    blur = _blur_matrix(size, sigma)
    values, vectors = torch.linalg.eigh(blur @ blur.T)
    values, vectors = values.flip(0).clamp_min(0.0), vectors.flip(1)
    keep = int((values.cumsum(0) < 0.9999 * values.sum()).sum()) + 1
    return (vectors[:, :keep] * values[:keep].sqrt()).to(device=device, dtype=torch.float32)


def _theta(
    params: AugmentParams, n: int, height: int, width: int, like: torch.Tensor
) -> torch.Tensor:
    """affine_grid matrices (N, 2, 3): output coordinates → input, in [-1, 1] units.

    The forward map in centred pixel coordinates is p_out = R·Sh·S·p_in + t, S =
    scale·diag(r, 1/r) with r the aspect factor; affine_grid wants its inverse, expressed
    in normalised coordinates (x scaled by 2/W, y by 2/H).
    """
    zeros = like.new_zeros(n)
    rad = math.pi / 180.0
    angle = params.angle.to(like) * rad if params.angle is not None else zeros
    tan_shear = torch.tan(params.shear.to(like) * rad) if params.shear is not None else zeros
    inv_scale = 1.0 / params.scale.to(like) if params.scale is not None else zeros + 1.0
    inv_aspect = 1.0 / params.aspect.to(like) if params.aspect is not None else zeros + 1.0
    cos, sin = torch.cos(angle), torch.sin(angle)
    # R = [[c, s], [-s, c]] (CCW on screen, y down), Sh = [[1, -tan], [0, 1]],
    # S = scale·diag(r, 1/r): the inverse is S⁻¹·Sh⁻¹·R⁻¹, S⁻¹ = diag(1/r, r)/scale.
    a00 = (cos + tan_shear * sin) * inv_scale * inv_aspect
    a01 = (tan_shear * cos - sin) * inv_scale * inv_aspect * (height / width)
    a10 = sin * inv_scale / inv_aspect * (width / height)
    a11 = cos * inv_scale / inv_aspect
    if params.shift is not None:
        # t in normalised units is 2·shift; the inverse map subtracts it before A.
        tx, ty = (2.0 * params.shift.to(like)).unbind(1)
        bx, by = -(a00 * tx + a01 * ty), -(a10 * tx + a11 * ty)
    else:
        bx = by = zeros
    return torch.stack([a00, a01, bx, a10, a11, by], dim=1).view(n, 2, 3)


def _grid(
    theta: torch.Tensor, height: int, width: int, displacement: torch.Tensor | None = None
) -> torch.Tensor:
    """The grid of F.affine_grid(theta, align_corners=False), plus a displacement in pixels.

    affine_grid multiplies an (H·W)×3 base grid by each θ as a batched matmul, which is
    slow for K = 3 (2 ms for 256 28×28 on CPU); the affine map separates into a row part
    plus a column part instead, about 7× faster, and the displacement is added in place.
    """
    n = theta.shape[0]
    # Pixel centres in [-1, 1] units: exactly what grid_sample maps back to pixel i.
    xs = (torch.arange(width, device=theta.device, dtype=theta.dtype) * 2 + 1) / width - 1
    ys = (torch.arange(height, device=theta.device, dtype=theta.dtype) * 2 + 1) / height - 1
    grid = theta.new_empty(n, height, width, 2)
    for axis in (0, 1):
        a, b, c = theta[:, axis, 0:1], theta[:, axis, 1:2], theta[:, axis, 2:3]
        torch.add((a * xs + c)[:, None, :], (b * ys)[:, :, None], out=grid[..., axis])
        if displacement is not None:
            unit = 2.0 / (width if axis == 0 else height)
            grid[..., axis].add_(displacement[:, axis].to(grid), alpha=unit)
    return grid


class Augmenter:
    """Random augmentation of float batches N×C×H×W (C is 1 for characters).

    `fill` is the value of the background in the model's input range (what a 0 pixel maps
    to after normalisation): it fills what moves in from outside the image and erased
    rectangles. Random numbers come from `generator` (the global one when None), drawn on
    the generator's device and moved to the batch's device, so a seeded generator gives the
    same augmented batch every time on the same device.
    """

    def __init__(
        self,
        config: AugmentConfig,
        generator: torch.Generator | None = None,
        fill: float = 0.0,
    ) -> None:
        if not isinstance(config, AugmentConfig):
            raise ConfigError(f"augmentation needs an AugmentConfig, got {type(config).__name__}")
        self.config = config
        self.generator = generator
        self.fill = _number("fill", fill)
        self._rng_device = generator.device if generator is not None else torch.device("cpu")

    def __repr__(self) -> str:
        return f"Augmenter({self.config}, fill={self.fill})"

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        _check_batch(images)
        if not self.config.enabled or images.shape[0] == 0:
            return images.clone()
        n, _, height, width = images.shape
        return self.apply(images, self.sample(n, height, width, images.device))

    def _uniform(self, *shape: int) -> torch.Tensor:
        """Uniform in [-1, 1) from the generator."""
        u = torch.rand(shape, generator=self.generator, device=self._rng_device)
        return u.mul_(2.0).sub_(1.0)

    def sample(
        self, n: int, height: int, width: int, device: torch.device | str | None = None
    ) -> AugmentParams:
        """Draw the random parameters for a batch of n images of height×width."""
        cfg, params = self.config, AugmentParams()
        device = torch.device(device) if device is not None else self._rng_device
        if cfg.affine:
            # One draw for every affine part keeps the stream simple and the call cheap.
            u = self._uniform(n, 5).to(device)
            params.angle = u[:, 0] * cfg.rotation
            params.shear = u[:, 1] * cfg.shear
            params.scale = 1.0 + u[:, 2] * cfg.scale
            params.shift = u[:, 3:5] * cfg.shift
        if cfg.elastic:
            basis_y = _field_basis(height, cfg.elastic_sigma, device)
            basis_x = _field_basis(width, cfg.elastic_sigma, device)
            noise = self._uniform(n, 2, basis_y.shape[1], basis_x.shape[1]).to(device)
            # B_y·Z·B_xᵀ as two right products: each is one GEMM over the whole batch.
            field = ((noise @ basis_x.T).transpose(-1, -2) @ basis_y.T).transpose(-1, -2)
            params.displacement = field.mul_(cfg.elastic_alpha)
        if cfg.erasing > 0.0:
            params.erase = self._sample_erase(n, height, width).to(device)
        if cfg.thickness > 0.0:
            params.thickness = (self._uniform(n) * cfg.thickness).to(device)
        if cfg.aspect > 0.0:
            # Drawn last, so configurations without it keep their random stream.
            log_r = self._uniform(n) * math.log1p(cfg.aspect)
            params.aspect = log_r.exp().to(device)
        if cfg.lowres > 0.0:
            # After aspect, for the same reason.
            u = torch.rand((n, 3), generator=self.generator, device=self._rng_device)
            low, high = cfg.lowres_size
            side = (low + u[:, 1] * (high - low + 1)).floor().clamp(max=high)
            side = torch.where(u[:, 0] < cfg.lowres, side, 0.0)
            binary = (u[:, 2] < cfg.lowres_binary).float()
            params.lowres = torch.stack([side, binary], dim=1).to(device)
        if cfg.stretch > 0.0:
            # After lowres, for the same reason.
            u = torch.rand(n, generator=self.generator, device=self._rng_device)
            params.stretch = (u < cfg.stretch).to(device)
        return params

    def _sample_erase(self, n: int, height: int, width: int) -> torch.Tensor:
        cfg = self.config
        u = torch.rand(
            (n, 5), generator=self.generator, device=self._rng_device, dtype=torch.float64
        )
        lo, hi = cfg.erasing_area
        area = (lo + (hi - lo) * u[:, 0]) * (height * width)
        log_lo, log_hi = (math.log(r) for r in cfg.erasing_ratio)
        ratio = torch.exp(log_lo + (log_hi - log_lo) * u[:, 1])
        h = torch.sqrt(area * ratio).round().clamp(1, height)
        # Derive each side from the other after clamping so the area stays near its draw.
        w = (area / h).round().clamp(1, width)
        h = (area / w).round().clamp(1, height)
        top = (u[:, 2] * (height - h + 1)).floor()
        left = (u[:, 3] * (width - w + 1)).floor()
        h = torch.where(u[:, 4] < cfg.erasing, h, 0.0)
        return torch.stack([top, left, h, w], dim=1).long()

    def apply(self, images: torch.Tensor, params: AugmentParams) -> torch.Tensor:
        """Apply given parameters: one grid_sample for all geometry, pen, then erasing."""
        _check_batch(images)
        n, _, height, width = images.shape
        if n == 0:
            return images.clone()
        # grid_sample has no half-precision CPU kernels; compute in float32 and cast back.
        work = images if images.dtype in (torch.float32, torch.float64) else images.float()
        out = work
        if params.geometric:
            theta = _theta(params, n, height, width, work.new_empty(0))
            grid = _grid(theta, height, width, params.displacement)
            # grid_sample pads with zeros: sample (images - fill) so the padding becomes fill.
            shifted = work - self.fill if self.fill else work
            out = F.grid_sample(
                shifted, grid, mode="bilinear", padding_mode="zeros", align_corners=False
            )
            if self.fill:
                out = out + self.fill
        if params.thickness is not None:
            out = _pen(out, params.thickness.to(images.device, out.dtype))
        if params.stretch is not None and bool(params.stretch.any()):
            out = self._stretch_to_square(out, params.stretch.to(images.device))
        if params.lowres is not None:
            out = self._low_resolution(out, params.lowres.to(images.device))
        if params.erase is not None:
            top, left, h, w = params.erase.to(images.device).unbind(1)
            rows = torch.arange(height, device=images.device)
            cols = torch.arange(width, device=images.device)
            in_rows = (rows >= top[:, None]) & (rows < (top + h)[:, None])
            in_cols = (cols >= left[:, None]) & (cols < (left + w)[:, None])
            mask = in_rows[:, None, :, None] & in_cols[:, None, None, :]
            out = out.masked_fill(mask, self.fill)
        if out is images:
            return images.clone()
        return out.to(images.dtype)

    def _stretch_to_square(self, images: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        """The chosen images with their ink box stretched to a square about its centre.

        The box holds the pixels with at least a third of the image's brightest ink; its
        longer side is kept and the shorter one enlarged to it, about the box's centre
        moved just enough to keep the square inside the frame. Blank images are left alone.
        """
        height, width = images.shape[-2:]
        picked = images[chosen]
        ink = (picked - self.fill).amax(dim=1)  # (M, H, W) brightness above the paper
        level = ink.amax(dim=(1, 2), keepdim=True)
        inked = (ink >= level / 3.0) & (level > 0)
        cols, rows = inked.any(dim=1), inked.any(dim=2)  # (M, W), (M, H)

        def extent(mask: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
            # Centre and half-side in pixels of the inked span along one axis (the whole
            # axis when blank).
            index = torch.arange(size, device=mask.device, dtype=images.dtype)
            blank = ~mask.any(dim=1)
            first = torch.where(mask, index, float(size)).amin(dim=1).masked_fill(blank, 0.0)
            last = torch.where(mask, index, -1.0).amax(dim=1).masked_fill(blank, size - 1.0)
            return (first + last) / 2.0, (last - first + 1.0) / 2.0

        centre_x, half_x = extent(cols, width)
        centre_y, half_y = extent(rows, height)
        half = torch.maximum(half_x, half_y)

        def axis(centre: torch.Tensor, half_in: torch.Tensor, size: int) -> list[torch.Tensor]:
            # Output → input along one axis: x_in = c_in + (x_out - c_out)·k, k = half_in /
            # half, in affine_grid's [-1, 1] units (pixel x at (2x + 1)/size - 1).
            low, high = half - 0.5, size - 0.5 - half
            moved = torch.minimum(torch.maximum(centre, low), high.clamp(min=low))
            c_in, c_out = (2.0 * centre + 1.0) / size - 1.0, (2.0 * moved + 1.0) / size - 1.0
            k = half_in / half
            return [k, c_in - k * c_out]

        (k_x, b_x), (k_y, b_y) = axis(centre_x, half_x, width), axis(centre_y, half_y, height)
        zeros = torch.zeros_like(k_x)
        theta = torch.stack([k_x, zeros, b_x, zeros, k_y, b_y], dim=1).view(-1, 2, 3)
        grid = _grid(theta, height, width)
        shifted = picked - self.fill if self.fill else picked
        stretched = F.grid_sample(
            shifted, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )
        out = images.clone()
        out[chosen] = stretched + self.fill if self.fill else stretched
        return out

    def _low_resolution(self, images: torch.Tensor, lowres: torch.Tensor) -> torch.Tensor:
        """Each image with a side > 0 reduced to it, maybe cut to two levels, enlarged back.

        One pair of interpolations per distinct side in the batch (about ten), not per image.
        """
        height, width = images.shape[-2:]
        out = images.clone()
        ink = images - self.fill  # brightness above the paper
        for side in lowres[:, 0].unique().tolist():
            if side <= 0 or side >= max(height, width):
                continue
            chosen = lowres[:, 0] == side
            small = F.interpolate(ink[chosen], size=(int(side), int(side)), mode="area")
            binary = lowres[chosen, 1].view(-1, 1, 1, 1) > 0
            # The ink's full brightness (the original's), where at least half of it is left.
            level = ink[chosen].amax(dim=(1, 2, 3), keepdim=True)
            two = torch.where(small >= 0.5 * level, level, torch.zeros_like(small))
            small = torch.where(binary, two, small)
            big = F.interpolate(small, size=(height, width), mode="bilinear", align_corners=False)
            out[chosen] = big + self.fill
        return out


def _pen(images: torch.Tensor, thickness: torch.Tensor) -> torch.Tensor:
    """Blend each image with its 3×3 grey dilation (thickness > 0) or erosion (< 0)."""
    wider = F.max_pool2d(images, 3, stride=1, padding=1)
    finer = -F.max_pool2d(-images, 3, stride=1, padding=1)
    t = thickness.view(-1, 1, 1, 1)
    return images + t.clamp(min=0) * (wider - images) + (-t).clamp(min=0) * (finer - images)


def _check_batch(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
        raise ValueError(f"augmentation expects a batch N×C×H×W, got {shape}")
    if not images.is_floating_point():
        raise ValueError(f"augmentation expects a floating-point batch, got {images.dtype}")


def benchmark(
    batch: int = 256, size: int = 28, repeats: int = 200, device: str = "cpu"
) -> dict[str, dict[str, float]]:
    """Time one augmented batch per preset: {preset: {"median_ms": .., "best_ms": ..}}.

    python -c "import torch; torch.set_num_threads(2);
    from charrec.train.augment import benchmark; print(benchmark())"
    """
    import statistics
    import time

    def sync() -> None:
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()

    generator = torch.Generator().manual_seed(0)
    images = torch.rand(batch, 1, size, size, generator=generator).to(device)
    results = {}
    for name in AugmentConfig.preset_names():
        augment = Augmenter(AugmentConfig.preset(name), generator)
        for _ in range(20):  # warm-up: caches, allocator, kernels
            augment(images)
        times = []
        for _ in range(repeats):
            sync()
            start = time.perf_counter()
            augment(images)
            sync()
            times.append(1e3 * (time.perf_counter() - start))
        results[name] = {"median_ms": statistics.median(times), "best_ms": min(times)}
    return results
