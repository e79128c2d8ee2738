"""Shape arithmetic of convolution and pooling layers.

The formulas are the ones Keras and TensorFlow use, written out so that the
Playground can show them and the Builder can check a design without building
it. For one spatial axis of length ``n``, kernel ``k``, stride ``s``, dilation
``d`` and explicit padding ``p_before + p_after``::

    effective kernel  k_eff = d * (k - 1) + 1
    output length     out   = floor((n + p_before + p_after - k_eff) / s) + 1

``"valid"`` means no padding; ``"same"`` means ``out = ceil(n / s)`` with the
padding TensorFlow adds (the extra pixel goes after, i.e. bottom/right).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Union

from .errors import ShapeError

#: Per-axis padding: "valid", "same", an int for all sides, or explicit
#: ``((top, bottom), (left, right))``.
Padding = Union[str, int, Sequence[Sequence[int]]]


def as_pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    """An int or a pair of ints as a validated ``(y, x)`` pair of positive ints."""
    if isinstance(value, (int,)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        try:
            a, b = value  # type: ignore[misc]
            pair = (int(a), int(b))
        except (TypeError, ValueError):
            raise ShapeError(f"{name} must be a whole number or a pair of them, got {value!r}") from None
    if pair[0] < 1 or pair[1] < 1:
        raise ShapeError(f"{name} must be at least 1, got {pair[0]}x{pair[1]}")
    return pair


def effective_kernel(k: int, dilation: int = 1) -> int:
    """Extent of a dilated kernel: ``d * (k - 1) + 1``."""
    return dilation * (k - 1) + 1


def same_padding(n: int, k: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """The (before, after) padding TensorFlow's ``"same"`` adds on one axis."""
    out = math.ceil(n / stride)
    total = max((out - 1) * stride + effective_kernel(k, dilation) - n, 0)
    return total // 2, total - total // 2


def resolve_padding(
    padding: Padding,
    input_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: tuple[int, int] = (1, 1),
    dilation: tuple[int, int] = (1, 1),
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit ``((top, bottom), (left, right))`` padding for any padding spec."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            return (
                same_padding(input_hw[0], kernel_hw[0], stride[0], dilation[0]),
                same_padding(input_hw[1], kernel_hw[1], stride[1], dilation[1]),
            )
        raise ShapeError(f'padding must be "valid", "same", a number or ((top, bottom), (left, right)); got "{padding}"')
    if isinstance(padding, int) and not isinstance(padding, bool):
        if padding < 0:
            raise ShapeError(f"padding cannot be negative, got {padding}")
        return (padding, padding), (padding, padding)
    try:
        (t, b), (l, r) = padding  # type: ignore[misc]
        pads = ((int(t), int(b)), (int(l), int(r)))
    except (TypeError, ValueError):
        raise ShapeError(f"padding must be ((top, bottom), (left, right)), got {padding!r}") from None
    if min(pads[0] + pads[1]) < 0:
        raise ShapeError(f"padding cannot be negative, got {pads}")
    return pads


def output_length(n: int, k: int, stride: int = 1, pad: tuple[int, int] = (0, 0), dilation: int = 1) -> int:
    """Output length on one axis with explicit padding; may be <= 0 when the kernel does not fit."""
    return (n + pad[0] + pad[1] - effective_kernel(k, dilation)) // stride + 1


@dataclass(frozen=True)
class ConvGeometry:
    """Everything the Playground shows about one conv or pooling step."""

    input_hw: tuple[int, int]
    kernel_hw: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]
    output_hw: tuple[int, int]

    @property
    def padded_hw(self) -> tuple[int, int]:
        """Input size after padding."""
        (t, b), (l, r) = self.padding
        return self.input_hw[0] + t + b, self.input_hw[1] + l + r

    def formula(self, axis: int = 0) -> str:
        """The output-size formula with this geometry's numbers, for one axis (0 = height)."""
        n, k, s, d = self.input_hw[axis], self.kernel_hw[axis], self.stride[axis], self.dilation[axis]
        p0, p1 = self.padding[axis]
        return (
            f"out = floor(({n} + {p0} + {p1} - {d}*({k}-1) - 1) / {s}) + 1 = {self.output_hw[axis]}"
        )


def conv_geometry(
    input_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: int | Sequence[int] = 1,
    padding: Padding = "valid",
    dilation: int | Sequence[int] = 1,
) -> ConvGeometry:
    """Validated geometry of a conv/pool window over an input; raises ShapeError when it does not fit."""
    ih, iw = int(input_hw[0]), int(input_hw[1])
    if ih < 1 or iw < 1:
        raise ShapeError(f"the input must be at least 1x1, got {ih}x{iw}")
    kh, kw = as_pair(tuple(kernel_hw), "kernel size")
    s = as_pair(stride, "stride")
    d = as_pair(dilation, "dilation")
    pads = resolve_padding(padding, (ih, iw), (kh, kw), s, d)
    oh = output_length(ih, kh, s[0], pads[0], d[0])
    ow = output_length(iw, kw, s[1], pads[1], d[1])
    if oh < 1 or ow < 1:
        ph, pw = ih + sum(pads[0]), iw + sum(pads[1])
        ekh, ekw = effective_kernel(kh, d[0]), effective_kernel(kw, d[1])
        extra = f" (dilated to {ekh}x{ekw})" if (ekh, ekw) != (kh, kw) else ""
        raise ShapeError(f"kernel larger than padded input: {kh}x{kw}{extra} on {ph}x{pw}")
    return ConvGeometry((ih, iw), (kh, kw), s, d, pads, (oh, ow))


def receptive_field(layers: Sequence[tuple[int, int, int]]) -> tuple[int, int]:
    """Receptive field size and jump of a stack of ``(kernel, stride, dilation)`` layers on one axis."""
    size, jump = 1, 1
    for k, s, d in layers:
        size += (effective_kernel(k, d) - 1) * jump
        jump *= s
    return size, jump


def conv_params(kernel_hw: tuple[int, int], in_channels: int, filters: int, use_bias: bool = True) -> int:
    """Parameters of a Conv2D layer: ``kh * kw * c_in * filters (+ filters)``."""
    return kernel_hw[0] * kernel_hw[1] * in_channels * filters + (filters if use_bias else 0)


def dense_params(units_in: int, units: int, use_bias: bool = True) -> int:
    """Parameters of a Dense layer: ``in * units (+ units)``."""
    return units_in * units + (units if use_bias else 0)
