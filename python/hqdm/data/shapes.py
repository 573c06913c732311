"""A procedurally generated, labelled image dataset for training tiny
diffusion models on a CPU: RGB images of one shape each, in [-1, 1].

Classes (CLASSES, label = index):
  0 disc     a filled disc, radius 0.15..0.35 of the image size
  1 square   a filled axis-aligned square, half side 0.15..0.32
  2 stripes  parallel stripes over the whole image, period 3..6 pixels
             (scaled with the size), any orientation, two colours
  3 ring     an annulus, outer radius 0.22..0.40, width 0.06..0.12

Shapes have a random centre (kept inside the image), a random foreground
colour and a darker random background colour, and anti-aliased edges (the
coverage of each pixel by the shape, from a signed distance clipped to
[-0.5, 0.5] pixel). Everything comes from numpy's default_rng(seed), so a
seed gives the same images on every machine.
"""

import numpy as np

__all__ = ["CLASSES", "make_shapes", "ShapesStream"]

CLASSES = ("disc", "square", "stripes", "ring")


def _coverage(signed_dist_px):
    # signed distance in pixels (negative inside) -> coverage in [0, 1]
    return np.clip(0.5 - signed_dist_px, 0.0, 1.0)


def make_shapes(n, image_size=16, seed=0, rng=None, labels=None):
    """(images float32 [n, 3, S, S] in [-1, 1], labels int64 [n]).
    labels (optional) fixes the class of each image."""
    rng = np.random.default_rng(seed) if rng is None else rng
    S = image_size
    if labels is None:
        labels = rng.integers(0, len(CLASSES), size=n)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    # pixel centres in units of the image size
    coords = (np.arange(S, dtype=np.float64) + 0.5) / S
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    yy, xx = yy[None], xx[None]

    fg = rng.uniform(0.35, 1.0, size=(n, 3))
    bg = rng.uniform(0.0, 0.3, size=(n, 3))
    r1 = rng.uniform(0.0, 1.0, size=n)     # size parameter
    r2 = rng.uniform(0.0, 1.0, size=n)     # ring width / stripe period
    ang = rng.uniform(0.0, np.pi, size=n)  # stripe orientation
    phase = rng.uniform(0.0, 1.0, size=n)
    cu = rng.uniform(0.0, 1.0, size=(n, 2))

    size = np.select([labels == 0, labels == 1, labels == 3],
                     [0.15 + 0.20 * r1, 0.15 + 0.17 * r1, 0.22 + 0.18 * r1], 0.0)
    # keep the shape inside the image
    margin = size + 0.02
    cy = margin + (1 - 2 * margin) * cu[:, 0]
    cx = margin + (1 - 2 * margin) * cu[:, 1]
    dy = yy - cy[:, None, None]
    dx = xx - cx[:, None, None]
    dist = np.sqrt(dy ** 2 + dx ** 2)
    s = size[:, None, None]

    disc = _coverage((dist - s) * S)
    square = _coverage((np.maximum(np.abs(dx), np.abs(dy)) - s) * S)
    width = (0.06 + 0.06 * r2)[:, None, None]
    ring = _coverage((np.abs(dist - (s - width / 2)) - width / 2) * S)
    period = (3.0 + 3.0 * r2) * (S / 16.0)                  # pixels
    u = (xx * np.cos(ang)[:, None, None] + yy * np.sin(ang)[:, None, None]) * S
    frac = np.mod(u / period[:, None, None] + phase[:, None, None], 1.0)
    # band of half the period: signed distance to its edges, in pixels
    band = (np.abs(frac - 0.5) - 0.25) * period[:, None, None]
    stripes = _coverage(band)

    cov = np.select([labels[:, None, None] == k for k in range(4)],
                    [disc, square, stripes, ring])
    img = bg[:, :, None, None] + (fg - bg)[:, :, None, None] * cov[:, None]
    return (img * 2.0 - 1.0).astype(np.float32), labels


class ShapesStream:
    """An endless seeded stream of batches: next(stream) -> (images, labels)."""

    def __init__(self, batch_size, image_size=16, seed=0):
        self.batch_size = batch_size
        self.image_size = image_size
        self.rng = np.random.default_rng(seed)

    def __iter__(self):
        return self

    def __next__(self):
        return make_shapes(self.batch_size, self.image_size, rng=self.rng)
