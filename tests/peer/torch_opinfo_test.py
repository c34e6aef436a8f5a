"""PyTorch's own test inputs for its leaky rectifiers, run through keras-leaky and torch.

The inputs are PyTorch 2.13's, ported as plain data (`torch.testing._internal` is private and
heavy, so it is not imported):
- the OpInfo samples of `nn.functional.leaky_relu`, `nn.functional.prelu` and
  `nn.functional.rrelu` (`sample_inputs_leaky_relu`, `sample_inputs_prelu`,
  `sample_inputs_rrelu` in `torch/testing/_internal/common_methods_invocations.py`, with
  `sample_inputs_elementwise_unary` from `opinfo/core.py`): shapes, scalars, empty tensors,
  weight shapes and values, the training flag;
- the module inputs of `nn.LeakyReLU` and `nn.PReLU` (`common_modules.py`) and of `nn.RReLU`
  (which has no ModuleInfo: its module tests are in `common_nn.py`).
Each runs through `keras_leaky.ops` (the OpInfo samples) or the layers (the module inputs) on
the current backend and through torch's own function or module, in the dtypes torch tests them
in on the CPU. Outputs and gradients (w.r.t. the input and the weight) must agree at the
tolerances `torch.testing.assert_close` uses for that dtype (`check_against_torch` says how the
weight gradient, a sum, is compared). RReLU in training draws its slopes differently
(keras-leaky hashes them, torch samples them), so there the output is checked by its bounds and
the gradient against the slope the output shows.
"""

import keras
import numpy as np
import pytest
import torch
import torch.nn.functional as F

# torch.testing.assert_close's default (rtol, atol) for a dtype, read from torch (private;
# checked on torch 2.13), not copied: the weight-gradient and RReLU bars below are then exactly
# the ones assert_close applies to the outputs.
from torch.testing._comparison import default_tolerances

from keras_leaky import LeakyReLU, PReLU, RReLU
from keras_leaky import ops as leaky_ops
from tests.backend_utils import value_and_grad

S, M, L = 5, 10, 20  # torch.testing._internal.opinfo.core's sizes.
TORCH_DTYPES = {
    "float64": torch.float64,
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}


def _available(dtypes):
    """`dtypes`, less float64 on JAX without `jax_enable_x64` (JAX computes in float32 there)."""
    if keras.backend.backend() == "jax":
        import jax

        if not jax.config.jax_enable_x64:
            return [dtype for dtype in dtypes if dtype != "float64"]
    return dtypes


# The dtypes torch tests them in on the CPU. OpInfo: floating_types_and(bfloat16, float16) for
# leaky_relu and prelu, floating_types_and(bfloat16) for rrelu (torch has no float16 CPU rrelu
# kernel). ModuleInfo: floating_types().
OPINFO_DTYPES = _available(["float64", "float32", "bfloat16", "float16"])
RRELU_OPINFO_DTYPES = _available(["float64", "float32", "bfloat16"])
MODULE_DTYPES = _available(["float64", "float32"])


def make_tensor(shape, dtype, seed, low=-9.0, high=9.0):
    """`torch.testing.make_tensor`'s floats (uniform in [-9, 9)), seeded, in `dtype`.

    Returns the torch tensor and the same values as a NumPy array (float64 for float64, else
    float32, which holds the half-precision values exactly).
    """
    t = _torch(np.random.default_rng(seed).uniform(low, high, shape), dtype)
    return t, _numpy(t)


def _wide(dtype):
    """The dtype that holds `dtype`'s values exactly, and NumPy has: float64 or float32."""
    return "float64" if dtype == "float64" else "float32"


def _numpy(t):
    return t.detach().to(TORCH_DTYPES[_wide(_dtype_name(t.dtype))]).numpy()


def _torch(a, dtype):
    return torch.from_numpy(np.asarray(a)).to(TORCH_DTYPES[dtype])


def torch_result(fn, tensors, upstream):
    """`fn(*tensors)` and its gradients w.r.t. `tensors`, in torch."""
    leaves = [t.detach().clone().requires_grad_(True) for t in tensors]
    y = fn(*leaves)
    grads = torch.autograd.grad((y * upstream).sum(), leaves, allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g for t, g in zip(leaves, grads, strict=True)]
    return y.detach(), grads


def keras_leaky_result(fn, dtype, arrays, upstream):
    """`fn(*arrays)` on the current backend in `dtype`, and its gradients, as torch tensors.

    `arrays` hold `dtype`'s values exactly; they are cast to `dtype` inside the function, so the
    gradients come back through an exact cast.
    """

    def call(*ts):
        return fn(*(keras.ops.cast(t, dtype) for t in ts))

    y, grads = value_and_grad(call, *arrays, upstream=_numpy(upstream))
    return _torch(y.astype(_wide(dtype)), dtype), [_torch(g, dtype) for g in grads]


def check_against_torch(ours_fn, torch_fn, tensors, arrays=None):
    """keras-leaky's `ours_fn` against torch's `torch_fn` on `tensors` (input, [weight]).

    `arrays` are the arguments for `ours_fn` if they differ from `tensors`' values (a weight
    reshaped to keras-leaky's alpha layout). The output and the input gradient are compared at
    torch's tolerances for the dtype. The weight gradient is a sum over many elements, which two
    libraries round differently, so it is compared with the exact (float64) gradient, allowing
    torch's tolerance plus twice torch's own error there (issue 11's bar: torch's error within
    2x); in float64 that is torch's tolerance against torch.
    """
    dtype = _dtype_name(tensors[0].dtype)
    u = upstream_like(tensors[0], seed=100)
    arrays = [_numpy(t) for t in tensors] if arrays is None else arrays
    y, grads = keras_leaky_result(ours_fn, dtype, arrays, u)
    expected_y, expected_grads = torch_result(torch_fn, tensors, u)
    torch.testing.assert_close(y, expected_y)
    torch.testing.assert_close(grads[0], expected_grads[0])
    if len(tensors) == 1:
        return
    _, (_, exact) = torch_result(torch_fn, [t.double() for t in tensors], u.double())
    ours, theirs = grads[1].double().reshape(exact.shape), expected_grads[1].double()
    rtol, atol = default_tolerances(tensors[0])
    allowed = atol + rtol * exact.abs() + 2 * (theirs - exact).abs()
    error = (ours - exact).abs()
    assert torch.all(error <= allowed), (
        f"{dtype} weight gradient {ours.tolist()}, exact {exact.tolist()}, torch "
        f"{theirs.tolist()}: error {error.tolist()} > allowed {allowed.tolist()}"
    )


def upstream_like(t, seed):
    return make_tensor(tuple(t.shape), _dtype_name(t.dtype), seed, -1.0, 1.0)[0]


def _dtype_name(torch_dtype):
    return next(name for name, value in TORCH_DTYPES.items() if value == torch_dtype)


# --- LeakyReLU -------------------------------------------------------------------------------

# sample_inputs_leaky_relu: nine random (N, N) tensors, torch's default slope.
N = 10
# module_inputs_torch_nn_LeakyReLU: (constructor slope, input shape); None is torch's default.
LEAKY_RELU_MODULE_INPUTS = {
    "default": (None, (3, 2, 5)),
    "no_batch_dim": (None, (4,)),
    "with_negval": (0.5, (3, 2, 5)),
    "with_zero_negval": (0.0, (10, 10)),
    "with_negval_scalar": (0.5, ()),
}
# torch's default slope. keras-leaky's is 0.2 (Keras's activation's), so it is passed explicitly.
TORCH_NEGATIVE_SLOPE = 0.01


@pytest.mark.parametrize("dtype", OPINFO_DTYPES)
def test_leaky_relu_op_samples(dtype):
    for seed in range(1, N):
        check_against_torch(
            lambda x: leaky_ops.leaky_relu(x, TORCH_NEGATIVE_SLOPE),
            F.leaky_relu,
            [make_tensor((N, N), dtype, seed)[0]],
        )


@pytest.mark.parametrize("dtype", MODULE_DTYPES)
@pytest.mark.parametrize("module_input", list(LEAKY_RELU_MODULE_INPUTS))
def test_leaky_relu_module_inputs(module_input, dtype):
    slope, shape = LEAKY_RELU_MODULE_INPUTS[module_input]
    module = torch.nn.LeakyReLU() if slope is None else torch.nn.LeakyReLU(slope)
    layer = LeakyReLU(negative_slope=module.negative_slope, dtype=dtype)
    check_against_torch(layer, module, [make_tensor(shape, dtype, seed=1)[0]])


# --- PReLU -----------------------------------------------------------------------------------

# sample_inputs_prelu as (input shape, weight): a float is a scalar weight of that value, a
# tuple the shape of a make_tensor weight, "rand" a scalar `torch.rand(())` weight (the
# elementwise-unary samples' `sample_kwargs_prelu_scalar_weight`). Its last two samples,
# ((S, S), weight=1.0) and ((S, S), weight of shape (S,)), pass the weight by keyword: as plain
# data they are samples of the loop already.
PRELU_SAMPLES = [
    *((shape, "rand") for shape in ((L,), (1, 0, 3), ())),
    *(
        (shape, weight)
        for shape in ((), (S,), (S, S), (S, M, S))
        for weight in (-1.0, 0.0, 0.8, 1.0, (shape[1] if len(shape) >= 2 else 1,))
    ),
]
# module_inputs_torch_nn_PReLU: (num_parameters, input shape).
PRELU_MODULE_INPUTS = {
    "scalar": (1, ()),
    "no_batch_dim": (1, (4,)),
    "1d": (1, (2, 3, 4)),
    "1d_multiparam": (3, (2, 3, 4)),
    "2d": (1, (2, 3, 4, 5)),
    "2d_multiparam": (3, (2, 3, 4, 5)),
    "3d": (1, (2, 3, 4, 5, 6)),
    "3d_multiparam": (3, (2, 3, 4, 5, 6)),
}


def channels_first_alpha(weight, ndim):
    """torch's weight as a keras-leaky alpha that broadcasts the way `F.prelu` uses it.

    `F.prelu` puts a weight of C values on axis 1 (on axis 0 of a 1-D input); keras-leaky's
    alpha broadcasts from the last axis, so it gets shape (C, 1, ..., 1). This is the OpInfo's
    own reference, `ref=` in its `nn.functional.prelu` entry.
    """
    if ndim == 1:
        return weight
    return weight.reshape([weight.size if i == 1 else 1 for i in range(ndim)])


def _prelu_weight(spec, dtype, seed):
    if spec == "rand":
        return make_tensor((), dtype, seed, 0.0, 1.0)
    if isinstance(spec, tuple):
        return make_tensor(spec, dtype, seed)
    t = _torch(spec, dtype)
    return t, _numpy(t)


@pytest.mark.parametrize("dtype", OPINFO_DTYPES)
@pytest.mark.parametrize(
    "shape, weight_spec", PRELU_SAMPLES, ids=[f"{s}-{w}" for s, w in PRELU_SAMPLES]
)
def test_prelu_op_samples(shape, weight_spec, dtype):
    t, x = make_tensor(shape, dtype, seed=2)
    w, weight = _prelu_weight(weight_spec, dtype, seed=3)
    alpha = channels_first_alpha(weight, len(shape))
    check_against_torch(leaky_ops.prelu, F.prelu, [t, w], arrays=[x, alpha])


# Also in the half dtypes, F.prelu's OpInfo ones: the layer is how PReLU runs under mixed
# precision, and its inputs are the largest here, where the alpha gradient's sum shows rounding.
@pytest.mark.parametrize("dtype", OPINFO_DTYPES)
@pytest.mark.parametrize("module_input", list(PRELU_MODULE_INPUTS))
def test_prelu_module_inputs(module_input, dtype):
    num_parameters, shape = PRELU_MODULE_INPUTS[module_input]
    module = torch.nn.PReLU(num_parameters, dtype=TORCH_DTYPES[dtype])
    # torch's one weight is keras-leaky's scalar alpha (shared_axes="all"); its per-channel
    # weight is on axis 1: keras-leaky's default sharing with data_format="channels_first".
    if num_parameters == 1:
        layer = PReLU(shared_axes="all", dtype=dtype)
    else:
        layer = PReLU(data_format="channels_first", dtype=dtype)
    t, x = make_tensor(shape, dtype, seed=4)
    layer.build(x.shape)
    assert layer.count_params() == num_parameters
    # Distinct alphas in (0, 1) (torch starts them all at 0.25, as keras-leaky does), so that
    # a channel mix-up shows.
    w, weight = make_tensor((num_parameters,), dtype, seed=5, low=0.05, high=1.0)
    alpha = weight.reshape(tuple(layer.alpha.shape))

    def ours(x, alpha):
        return layer.stateless_call([alpha], [], x)[0]

    def theirs(t, w):
        return torch.func.functional_call(module, {"weight": w}, (t,))

    check_against_torch(ours, theirs, [t, w], arrays=[x, alpha])


# --- RReLU -----------------------------------------------------------------------------------

# sample_inputs_rrelu: (input shape, kwargs); F.rrelu's defaults are lower=1/8, upper=1/3,
# training=False.
RRELU_SAMPLES = [
    *((shape, {"lower": 0.0, "upper": 1.0, "training": True}) for shape in ((L,), (1, 0, 3), ())),
    ((S,), {}),
    ((S,), {"training": False}),
]
# common_nn.py's RReLU module tests: (constructor args, input shape). Modules are in training
# mode by default there; each is also checked in eval mode.
RRELU_MODULE_INPUTS = {
    "default": ((), (1, 2, 2)),
    "with_up_down": ((0.1, 0.9), (4, 4, 5)),
    "with_up_down_scalar": ((0.1, 0.9), ()),
}


def assert_rrelu_training(fn, dtype, x, lower, upper):
    """Training output and gradient of `fn` (x -> y): x where x > 0, a slope in bounds elsewhere.

    The slopes cannot match torch's (keras-leaky hashes them, torch samples them), so the output
    is checked by its bounds and the gradient against the slope that the output shows.
    """
    t = _torch(x, dtype)
    rtol, atol = default_tolerances(t)
    u = upstream_like(t, seed=100)
    y, (dx,) = keras_leaky_result(fn, dtype, [x], u)
    t, y, dx, u = (a.to(TORCH_DTYPES[_wide(dtype)]) for a in (t, y, dx, u))
    assert y.shape == t.shape
    positive = t > 0
    torch.testing.assert_close(y[positive], t[positive], rtol=0, atol=0)
    torch.testing.assert_close(dx[positive], u[positive], rtol=0, atol=0)
    slopes = y[~positive] / t[~positive]
    assert torch.all(slopes >= lower * (1 - rtol)) and torch.all(slopes <= upper * (1 + rtol))
    # The gradient is the upstream times the slope the output was drawn with.
    torch.testing.assert_close(dx[~positive], slopes * u[~positive], rtol=2 * rtol, atol=atol)


@pytest.mark.parametrize("dtype", RRELU_OPINFO_DTYPES)
@pytest.mark.parametrize("shape, kwargs", RRELU_SAMPLES, ids=[f"{s}-{k}" for s, k in RRELU_SAMPLES])
def test_rrelu_op_samples(shape, kwargs, dtype):
    t, x = make_tensor(shape, dtype, seed=6)
    if kwargs.get("training", False):
        lower, upper = kwargs["lower"], kwargs["upper"]
        fn = lambda x: leaky_ops.rrelu(x, lower, upper, training=True, seed=7)  # noqa: E731
        assert_rrelu_training(fn, dtype, x, lower, upper)
    else:
        check_against_torch(
            lambda x: leaky_ops.rrelu(x, **kwargs), lambda t: F.rrelu(t, **kwargs), [t]
        )


@pytest.mark.parametrize("dtype", MODULE_DTYPES)
@pytest.mark.parametrize("module_input", list(RRELU_MODULE_INPUTS))
def test_rrelu_module_inputs(module_input, dtype):
    args, shape = RRELU_MODULE_INPUTS[module_input]
    module = torch.nn.RReLU(*args)
    t, x = make_tensor(shape, dtype, seed=9)

    def call(x, training):
        # A new layer per call, with the same seed: the same slopes for the output and the
        # gradient (one layer draws new ones at every call).
        return RReLU(module.lower, module.upper, seed=8, dtype=dtype)(x, training=training)

    assert_rrelu_training(lambda x: call(x, True), dtype, x, module.lower, module.upper)
    check_against_torch(lambda x: call(x, False), module.eval(), [t])
