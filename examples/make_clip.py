"""Write examples/data/clip.mp4: the Colosseum photo (public domain) panning, 2 s at 12 fps, with a tone.

    python examples/make_clip.py      # needs the [video] extra

The README's video example stylizes this clip; it is small enough to ship (about 100 KB).
"""
from pathlib import Path

from preserve.imageio import load_image, resize
from preserve.video import write_video

DATA = Path(__file__).resolve().parent / "data"

photo = resize(load_image(DATA / "photos" / "colosseum.jpg").rgb, (180, 320 + 48))
frames = [photo[:, :, 2 * i:2 * i + 320] for i in range(24)]
print(write_video(frames, DATA / "clip.mp4", fps=12, tone_hz=440.0))
