"""hash_tensors: the digest behind the Gram cache, encoder fingerprints and make_results' resume folder."""

import hashlib

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from preserve.digest import hash_tensors


def digest(*named: tuple[str, torch.Tensor]) -> str:
    return hash_tensors(hashlib.sha256(), named).hexdigest()


DTYPES = [(torch.float32, np.float32), (torch.float16, np.float16), (torch.float64, np.float64), (torch.int32, np.int32)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=24), st.sampled_from(DTYPES))
def test_digest_is_of_the_bytes_numpy_writes(values: list[int], dtypes: tuple[torch.dtype, type]) -> None:
    """The digest covers the raw bytes: numpy's own serialisation of the same values gives the same digest."""
    torch_dtype, numpy_dtype = dtypes
    tensor = torch.tensor(values, dtype=torch_dtype)
    reference = hashlib.sha256(f"t:{tuple(tensor.shape)}:{torch_dtype}".encode())
    reference.update(np.asarray(values, dtype=numpy_dtype).tobytes())
    assert digest(("t", tensor)) == reference.hexdigest()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 11), st.floats(0.5, 10, width=32))
def test_digest_sees_every_element_shape_dtype_and_name(index: int, delta: float) -> None:
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    assert digest(("w", base)) == digest(("w", base.clone()))
    assert digest(("w", base)) == digest(("w", base.t().contiguous().t()))  # a strided view of the same values
    changed = base.clone()
    changed.view(-1)[index] += delta
    assert digest(("w", changed)) != digest(("w", base))
    assert digest(("w", base.reshape(4, 3))) != digest(("w", base))
    assert digest(("w", base.double())) != digest(("w", base))
    assert digest(("v", base)) != digest(("w", base))
