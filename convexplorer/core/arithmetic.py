"""Shape arithmetic of convolution and pooling layers.

The formulas are the ones Keras and TensorFlow use, written out so that the
Playground can show them and the Builder can check a design without building
it. For one spatial axis of length ``n``, kernel ``k``, stride ``s``, dilation
``d`` and explicit padding ``p_before + p_after``::

    effective kernel  k_eff = d * (k - 1) + 1
    output length     out   = floor((n + p_before + p_after - k_eff) / s) + 1

``"valid"`` means no padding; ``"same"`` means ``out = ceil(n / s)`` with the
padding TensorFlow adds (the extra pixel goes after, i.e. bottom/right).

A transposed convolution (Keras ``Conv2DTranspose``) runs the other way::

    out = (n - 1) * s - 2 * pad + k + output_padding

with ``pad = 0`` for ``"valid"`` and ``k // 2`` for ``"same"``; without an
``output_padding`` Keras picks the one that gives ``n * s`` ("same") or
``(n - 1) * s + max(k, s)`` ("valid").
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


def conv_transpose_output_length(
    n: int, k: int, stride: int = 1, padding: str = "valid", output_padding: int | None = None
) -> int:
    """Output length of a transposed convolution on one axis, as Keras's ``Conv2DTranspose`` computes it.

    ``(n - 1) * stride - 2 * pad + k + output_padding``; see the module notes for the defaults.
    """
    mode = _transpose_padding(padding)
    if output_padding is None:
        return n * stride if mode == "same" else (n - 1) * stride + max(k, stride)
    pad = k // 2 if mode == "same" else 0
    return (n - 1) * stride - 2 * pad + k + output_padding


def _transpose_padding(padding: object) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ShapeError(f'transposed-convolution padding must be "valid" or "same", got {padding!r}')
    return padding.lower()


@dataclass(frozen=True)
class TransposeGeometry:
    """A transposed convolution seen as zeros inserted into the input, padding, and a stride-1 convolution.

    The input's pixels are spread ``stride`` apart (``stride - 1`` zeros between
    neighbours), the result is padded with ``grid_padding`` zeros, and the
    kernel, rotated by 180 degrees, slides over that grid with stride 1: each
    window gives one output pixel.
    """

    input_hw: tuple[int, int]
    kernel_hw: tuple[int, int]
    stride: tuple[int, int]
    #: "valid" or "same".
    padding: str
    #: As given: None (Keras picks one) or (y, x).
    output_padding: tuple[int, int] | None
    output_hw: tuple[int, int]
    #: ``pad`` of the size formula on each axis (0 for "valid", kernel // 2 for "same").
    pad: tuple[int, int]
    #: ``output_padding`` of the size formula on each axis (the given one, or the one Keras's default implies).
    formula_output_padding: tuple[int, int]
    #: Zeros around the zero-inserted input, ``((top, bottom), (left, right))``: ``kernel - 1 - crop`` before.
    grid_padding: tuple[tuple[int, int], tuple[int, int]]

    @property
    def inserted_hw(self) -> tuple[int, int]:
        """Size of the input with the zeros inserted, before padding: ``(n - 1) * stride + 1``."""
        return tuple((n - 1) * s + 1 for n, s in zip(self.input_hw, self.stride))  # type: ignore[return-value]

    @property
    def grid_hw(self) -> tuple[int, int]:
        """Size of the grid the kernel slides over (zero-inserted and padded)."""
        (t, b), (l, r) = self.grid_padding
        ih, iw = self.inserted_hw
        return ih + t + b, iw + l + r

    @property
    def tf_refuses(self) -> bool:
        """True when TensorFlow refuses these settings.

        With "same" padding, an even kernel and ``output_padding`` 0 the output is
        one stride short of what TensorFlow's "same" expects (``(n - 1) * s``
        instead of more than that), and ``tf.nn.conv2d_transpose`` raises; the
        definition still gives a result.
        """
        if self.padding != "same" or self.output_padding is None:
            return False
        return any(k % 2 == 0 and op == 0 for k, op in zip(self.kernel_hw, self.output_padding))

    def formula(self, axis: int = 0) -> str:
        """``out = (in − 1)·stride − 2·pad + kernel + output_padding = N`` with this geometry's numbers."""
        n, k, s = self.input_hw[axis], self.kernel_hw[axis], self.stride[axis]
        return (
            f"out = ({n} − 1)·{s} − 2·{self.pad[axis]} + {k} + {self.formula_output_padding[axis]} "
            f"= {self.output_hw[axis]}"
        )


def conv_transpose_geometry(
    input_hw: tuple[int, int],
    kernel_hw: tuple[int, int],
    stride: int | Sequence[int] = 1,
    padding: str = "valid",
    output_padding: int | Sequence[int] | None = None,
) -> TransposeGeometry:
    """Validated geometry of a transposed convolution (Keras ``Conv2DTranspose`` shapes, TensorFlow's placement).

    Raises :class:`ShapeError` for padding other than "valid"/"same", an
    ``output_padding`` not smaller than the stride (Keras's rule), or an empty output.
    """
    ih, iw = int(input_hw[0]), int(input_hw[1])
    if ih < 1 or iw < 1:
        raise ShapeError(f"the input must be at least 1x1, got {ih}x{iw}")
    kernel = as_pair(tuple(kernel_hw), "kernel size")
    s = as_pair(stride, "stride")
    mode = _transpose_padding(padding)
    if output_padding is None:
        op = None
    else:
        if isinstance(output_padding, int) and not isinstance(output_padding, bool):
            op = (int(output_padding), int(output_padding))
        else:
            try:
                a, b = output_padding  # type: ignore[misc]
                op = (int(a), int(b))
            except (TypeError, ValueError):
                raise ShapeError(f"output padding must be a whole number or a pair of them, got {output_padding!r}") from None
        for name, o, st in (("vertical", op[0], s[0]), ("horizontal", op[1], s[1])):
            if o < 0:
                raise ShapeError(f"output padding cannot be negative, got {o} ({name})")
            if o >= st:
                raise ShapeError(
                    f"output padding must be smaller than the stride: {name} output padding {o} with stride {st}"
                )
    out, pads, fops, grid = [], [], [], []
    for axis, n in enumerate((ih, iw)):
        k, st = kernel[axis], s[axis]
        o = None if op is None else op[axis]
        length = conv_transpose_output_length(n, k, st, mode, o)
        if length < 1:
            raise ShapeError(
                f"the transposed convolution's output would be empty: {length} pixels from {n} "
                f"with kernel {k}, stride {st}, 'same' padding and output padding {o}"
            )
        pad = k // 2 if mode == "same" else 0
        # Where the output starts, as TensorFlow places it: the "same" padding of the
        # convolution this one reverses (output -> input), first half before.
        crop = max((n - 1) * st + k - length, 0) // 2 if mode == "same" else 0
        before = k - 1 - crop
        after = length + k - 1 - before - ((n - 1) * st + 1)
        out.append(length)
        pads.append(pad)
        fops.append(length - ((n - 1) * st - 2 * pad + k))
        grid.append((before, after))
    return TransposeGeometry(
        (ih, iw), kernel, s, mode, op, (out[0], out[1]), (pads[0], pads[1]), (fops[0], fops[1]), (grid[0], grid[1])
    )


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
