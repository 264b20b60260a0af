"""Reading what users hand us: modes, bit depths, orientation, broken files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import PHOTOS
from preserve.imageio import ImageReadError, find_images, load_image, save_image


@pytest.fixture()
def photo() -> Image.Image:
    return Image.open(PHOTOS / "astronaut.jpg").convert("RGB").resize((96, 64))


def test_rgb_round_trip(tmp_path, photo):
    photo.save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert img.rgb.shape == (3, 64, 96) and img.alpha is None
    assert img.rgb.dtype == torch.float32 and 0 <= img.rgb.min() and img.rgb.max() <= 1
    np.testing.assert_array_equal((img.rgb.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), np.asarray(photo))


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "I;16", "LA", "RGBA", "1"])
def test_modes_become_rgb(tmp_path, photo, mode):
    suffix = ".jpg" if mode == "CMYK" else ".png"
    if mode == "I;16":
        arr = (np.asarray(photo.convert("L"), dtype=np.uint16) * 257)
        Image.fromarray(arr).save(tmp_path / f"x{suffix}")  # a 16-bit grayscale PNG
    else:
        photo.convert(mode).save(tmp_path / f"x{suffix}")
    img = load_image(tmp_path / f"x{suffix}")
    assert img.rgb.shape == (3, 64, 96)
    assert (img.alpha is not None) == (mode in ("LA", "RGBA"))
    if mode == "I;16":  # 16-bit scaled by 65535, not clipped at 255
        gray = np.asarray(photo.convert("L"), dtype=np.float32) / 255
        np.testing.assert_allclose(img.rgb[0].numpy(), gray, atol=1e-4)


def test_exif_orientation_is_honoured(tmp_path, photo):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    photo.save(tmp_path / "rot.jpg", exif=exif)
    assert load_image(tmp_path / "rot.jpg").rgb.shape == (3, 96, 64)


def test_corrupt_and_truncated_files_name_the_file(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"not a png at all")
    with pytest.raises(ImageReadError, match="junk.png"):
        load_image(tmp_path / "junk.png")
    data = (PHOTOS / "dog.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageReadError, match="cut.jpg"):
        load_image(tmp_path / "cut.jpg")
    with pytest.raises(ImageReadError, match="missing.jpg"):
        load_image(tmp_path / "missing.jpg")


def test_save_keeps_alpha_and_is_atomic(tmp_path):
    rgb, alpha = torch.rand(3, 10, 12), torch.rand(1, 10, 12)
    path = save_image(rgb, tmp_path / "o.png", alpha)
    back = load_image(path)
    assert back.alpha is not None
    torch.testing.assert_close(back.alpha, alpha, atol=1 / 255, rtol=0)
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]


def test_find_images_recursive_sorted(photo_dir):
    found = [p.relative_to(photo_dir).as_posix() for p in find_images(photo_dir)]
    assert found == sorted(found) and "nested/colosseum.jpg" in found and "notes.txt" not in found
