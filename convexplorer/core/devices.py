"""The compute devices TensorFlow sees, and the settings that must precede their use.

:func:`list_devices` names every CPU and GPU TensorFlow can use (with the GPU's
memory where TensorFlow reports it). :func:`enable_memory_growth` and
:func:`set_visible_device` only work before TensorFlow has initialised its
devices (the first op or the first ``list_logical_devices``): call them right
after ``import tensorflow``; :func:`apply_device_settings` does both in the
right order. :func:`set_mixed_precision` switches Keras's global dtype policy
to ``mixed_float16`` (only when a GPU exists) and :func:`keep_output_float32`
keeps a model's (or design's) last layer in float32, as the TensorFlow
mixed-precision guide asks, so that softmax and loss stay numerically stable.

TensorFlow and Keras are imported inside the functions, never at module import.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Optional

from .errors import ConvExplorerError

#: Names accepted by :func:`set_visible_device` besides "GPU:<n>".
VISIBLE_ALL = "all"
VISIBLE_CPU = "cpu"

MIXED_POLICY = "mixed_float16"
FLOAT32_POLICY = "float32"


class DeviceError(ConvExplorerError):
    """A device setting could not be applied (no GPU, TensorFlow already started, unknown device)."""


@dataclass(frozen=True)
class DeviceInfo:
    """One device TensorFlow can use."""

    #: TensorFlow's physical device name, e.g. "/physical_device:GPU:0".
    name: str
    #: "CPU" or "GPU".
    kind: str
    #: Index among devices of the same kind.
    index: int
    #: The vendor's name where TensorFlow reports it ("NVIDIA GeForce RTX 4090"), else "".
    description: str = ""
    #: Memory in bytes where TensorFlow reports it (GPUs), else None.
    memory_bytes: Optional[int] = None
    #: CUDA compute capability (major, minor) where reported, else None.
    compute_capability: Optional[tuple[int, int]] = None

    @property
    def short_name(self) -> str:
        """"CPU:0", "GPU:1": the form :func:`set_visible_device` and strategies accept."""
        return f"{self.kind}:{self.index}"

    @property
    def memory_text(self) -> str:
        """The memory in GB or MB ("24 GB"), or "" when unknown."""
        return format_bytes(self.memory_bytes) if self.memory_bytes else ""

    @property
    def label(self) -> str:
        """A one-line description: "GPU 0 · NVIDIA A100 · 40 GB"."""
        bits = [f"{self.kind} {self.index}"]
        if self.description:
            bits.append(self.description)
        if self.memory_text:
            bits.append(self.memory_text)
        return " · ".join(bits)


def format_bytes(n: Optional[int]) -> str:
    """Bytes as a short size: 24 GB, 512 MB ("" for None)."""
    if not n:
        return ""
    gb = n / 1024**3
    if gb >= 1:
        return f"{gb:.0f} GB" if gb >= 10 or abs(gb - round(gb)) < 0.05 else f"{gb:.1f} GB"
    return f"{n / 1024**2:.0f} MB"


def _tf() -> Any:
    import tensorflow as tf

    return tf


def _index(name: str) -> int:
    try:
        return int(name.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return 0


def _memory_by_gpu() -> dict[int, int]:
    """Memory in bytes of each visible GPU (by physical index), as TensorFlow's own device list reports it.

    ``device_lib.list_local_devices`` starts the GPUs, so it is given the same
    memory-growth and visible-device choices as the eager context: it must not
    be the call that reserves all GPU memory.
    """
    tf = _tf()
    try:
        from tensorflow.python.client import device_lib  # TF's device list with memory_limit
    except ImportError:  # pragma: no cover - private module moved
        return {}
    visible = [_index(d.name) for d in tf.config.get_visible_devices("GPU")]
    if not visible:
        return {}
    out: dict[int, int] = {}
    try:
        config = tf.compat.v1.ConfigProto()
        growth = memory_growth_enabled()
        config.gpu_options.allow_growth = True if growth is None else bool(growth)
        config.gpu_options.visible_device_list = ",".join(str(i) for i in visible)
        for d in device_lib.list_local_devices(config):
            if d.device_type == "GPU" and d.memory_limit:
                local = _index(d.name)  # numbered within the visible list
                if local < len(visible):
                    out[visible[local]] = int(d.memory_limit)
    except Exception:  # noqa: BLE001 - a device TF cannot open: report no memory, not a crash
        return {}
    return out


def list_devices(with_memory: bool = True) -> list[DeviceInfo]:
    """Every physical CPU and GPU TensorFlow sees, CPUs first, with GPU names and memory where reported.

    ``with_memory=True`` asks TensorFlow for the GPUs' memory, which initialises
    the devices: apply :func:`enable_memory_growth` / :func:`set_visible_device`
    before the first call, or set ``with_memory=False``.
    """
    tf = _tf()
    memory = _memory_by_gpu() if with_memory and tf.config.list_physical_devices("GPU") else {}
    devices: list[DeviceInfo] = []
    for kind in ("CPU", "GPU"):
        for dev in tf.config.list_physical_devices(kind):
            idx = _index(dev.name)
            description, capability = "", None
            if kind == "GPU":
                try:
                    details = tf.config.experimental.get_device_details(dev)
                except Exception:  # noqa: BLE001 - details are optional
                    details = {}
                description = str(details.get("device_name", "") or "")
                cc = details.get("compute_capability")
                capability = (int(cc[0]), int(cc[1])) if cc else None
            devices.append(DeviceInfo(dev.name, kind, idx, description, memory.get(idx), capability))
    return devices


def gpus(devices: Optional[list[DeviceInfo]] = None) -> list[DeviceInfo]:
    """The GPUs among ``devices`` (default: :func:`list_devices` without initialising)."""
    if devices is None:
        devices = list_devices(with_memory=False)
    return [d for d in devices if d.kind == "GPU"]


def summary_text(devices: list[DeviceInfo]) -> str:
    """A status-bar summary: "CPU", "CPU · 1 GPU (24 GB)", "CPU · 2 GPUs (48 GB)"."""
    g = [d for d in devices if d.kind == "GPU"]
    if not g:
        return "CPU"
    text = f"CPU · {len(g)} GPU{'s' if len(g) > 1 else ''}"
    if all(d.memory_bytes for d in g):
        text += f" ({format_bytes(sum(d.memory_bytes or 0 for d in g))})"
    return text


def _already_initialised(exc: Exception, what: str) -> DeviceError:
    return DeviceError(
        f"cannot {what} now: TensorFlow has already started its devices "
        f"(this setting takes effect after restarting ConvExplorer). TensorFlow said: {str(exc).strip()}"
    )


def enable_memory_growth(enabled: bool = True) -> list[str]:
    """Let every GPU allocate memory as needed instead of all at once; returns the GPUs changed.

    Must run before TensorFlow initialises the GPUs; raises DeviceError after.
    """
    tf = _tf()
    changed = []
    for dev in tf.config.list_physical_devices("GPU"):
        try:
            if tf.config.experimental.get_memory_growth(dev) != enabled:
                tf.config.experimental.set_memory_growth(dev, enabled)
        except RuntimeError as exc:
            raise _already_initialised(exc, "change GPU memory growth") from None
        changed.append(dev.name)
    return changed


def memory_growth_enabled() -> Optional[bool]:
    """Whether memory growth is on for every GPU (None when there is no GPU)."""
    tf = _tf()
    devs = tf.config.list_physical_devices("GPU")
    if not devs:
        return None
    return all(tf.config.experimental.get_memory_growth(d) for d in devs)


def set_visible_device(choice: Optional[str] = VISIBLE_ALL) -> list[str]:
    """Choose the device TensorFlow computes on: "all", "cpu" (hide the GPUs) or "GPU:<n>".

    Returns the short names of the visible GPUs afterwards. Must run before
    TensorFlow initialises its devices; raises DeviceError after, or for a GPU
    that does not exist.
    """
    tf = _tf()
    physical = tf.config.list_physical_devices("GPU")
    choice = (choice or VISIBLE_ALL).strip()
    if choice.lower() == VISIBLE_ALL:
        wanted = physical
    elif choice.lower() == VISIBLE_CPU or choice.upper().startswith("CPU"):
        wanted = []
    elif choice.upper().startswith("GPU:"):
        idx = _index(choice)
        wanted = [d for d in physical if _index(d.name) == idx]
        if not wanted:
            have = ", ".join(f"GPU:{_index(d.name)}" for d in physical) or "no GPU"
            raise DeviceError(f"no device {choice}: TensorFlow sees {have}")
    else:
        raise DeviceError(f'unknown device choice "{choice}": expected "all", "cpu" or "GPU:<number>"')
    try:
        current = tf.config.get_visible_devices("GPU")
        if [d.name for d in current] != [d.name for d in wanted]:
            tf.config.set_visible_devices(wanted, "GPU")
    except RuntimeError as exc:
        raise _already_initialised(exc, "change the visible devices") from None
    return [f"GPU:{_index(d.name)}" for d in wanted]


def apply_device_settings(memory_growth: bool = True, visible: Optional[str] = VISIBLE_ALL) -> list[str]:
    """Apply the visible-device choice and memory growth before TF starts; returns messages for the log.

    Never raises for "too late" (the messages say it); raises DeviceError for an unknown device.
    """
    messages = []
    try:
        visible_gpus = set_visible_device(visible)
        messages.append("visible GPUs: " + (", ".join(visible_gpus) or "none (CPU only)"))
    except DeviceError as exc:
        if "already started" not in str(exc):
            raise
        messages.append(str(exc))
    try:
        changed = enable_memory_growth(memory_growth)
        if changed:
            messages.append(f"GPU memory growth {'on' if memory_growth else 'off'}: {', '.join(changed)}")
    except DeviceError as exc:
        messages.append(str(exc))
    return messages


# --------------------------------------------------------------------------- mixed precision
def set_mixed_precision(enabled: bool) -> str:
    """Switch Keras's global dtype policy to mixed_float16 (GPU only) or back to float32; returns it.

    Models built afterwards compute in float16 with float32 variables. Raises
    DeviceError when asked for mixed precision without a visible GPU (on CPUs it
    is slower, not faster).
    """
    import keras

    if enabled:
        tf = _tf()
        if not tf.config.get_visible_devices("GPU"):
            raise DeviceError(
                "mixed precision (mixed_float16) needs a GPU, and TensorFlow sees none: "
                "it would make training on the CPU slower, so it stays off"
            )
        keras.mixed_precision.set_global_policy(MIXED_POLICY)
    else:
        keras.mixed_precision.set_global_policy(FLOAT32_POLICY)
    return keras.mixed_precision.global_policy().name


def mixed_precision_enabled() -> bool:
    """True if Keras's global policy computes in float16."""
    import keras

    return keras.mixed_precision.global_policy().name == MIXED_POLICY


def mixed_precision_note(devices: list[DeviceInfo]) -> str:
    """Why mixed precision would not help on these devices, or "" when it should (compute capability >= 7.0)."""
    g = [d for d in devices if d.kind == "GPU"]
    if not g:
        return "Mixed precision needs a GPU; TensorFlow sees none."
    old = [d for d in g if d.compute_capability is not None and d.compute_capability < (7, 0)]
    if old:
        which = ", ".join(f"GPU {d.index} has {d.compute_capability[0]}.{d.compute_capability[1]}" for d in old)  # type: ignore[index]
        return (f"Mixed precision speeds up GPUs of compute capability 7.0 or newer (tensor cores); {which}: "
                "expect little or no gain there.")
    return ""


def _is_spec(obj: Any) -> bool:
    from .spec import ModelSpec

    return isinstance(obj, ModelSpec)


def _float32_spec(spec: Any) -> Any:
    """A copy of ``spec`` whose last layer is an Activation (the layer to keep in float32)."""
    from .spec import LayerSpec

    new = copy.deepcopy(spec)
    if not new.layers:
        return new
    last = new.layers[-1]
    if last.kind == "Dense" and last.get("activation") != "linear":
        activation = last.get("activation")
        last.params["activation"] = "linear"
        base = last.name or "predictions"
        new.layers.append(LayerSpec("Activation", {"activation": activation}, f"{base}_activation"))
    return new


def _float32_model(model: Any) -> Any:
    """``model`` re-traced with its last layer computing in float32 (same weights, not compiled)."""
    import keras

    target = model.layers[-1] if model.layers else None
    if target is None:
        raise DeviceError("the model has no layers to keep in float32")
    if target.dtype_policy.name == FLOAT32_POLICY:
        return model

    def clone(layer: Any) -> Any:
        if layer is target:
            config = layer.get_config()
            config["dtype"] = FLOAT32_POLICY
            return layer.__class__.from_config(config)
        return layer  # the same layer object: weights shared, not copied

    try:
        new = keras.models.clone_model(model, clone_function=clone)
    except Exception as exc:  # noqa: BLE001 - subclassed models cannot be re-traced
        raise DeviceError(
            f"cannot keep the last layer of {model.name!r} in float32: it cannot be re-traced "
            f"(expected a Sequential or functional model; {type(exc).__name__}: {exc})"
        ) from None
    new_last = new.layers[-1]
    if target.weights:
        new_last.set_weights(target.get_weights())
    return new


def keep_output_float32(model_or_spec: Any) -> Any:
    """Keep the final layer in float32 under mixed precision; returns the new model or design.

    For a ``keras.Model``: a re-traced model (same weight objects) whose last
    layer has ``dtype="float32"``, so its outputs are float32; compile it
    afterwards. For a ``ModelSpec``: a copy whose softmax/sigmoid moves from the
    last Dense into its own final Activation layer (a float16 Dense then a
    float32 softmax, as in the TensorFlow guide); pass the model built from it
    through this function again to set the dtype.
    """
    if _is_spec(model_or_spec):
        return _float32_spec(model_or_spec)
    if not hasattr(model_or_spec, "layers"):
        raise DeviceError(
            f"expected a keras.Model or a ModelSpec, received {type(model_or_spec).__name__}"
        )
    return _float32_model(model_or_spec)
