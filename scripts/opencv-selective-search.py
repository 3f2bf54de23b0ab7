#!/usr/bin/python3
"""OpenCV's selective search ("fast" mode) on a list of images, for the proposals bench.

Runs cv2.ximgproc.segmentation.createSelectiveSearchSegmentation() with
switchToSelectiveSearchFast() (defaults: base_k=150, inc_k=150, sigma=0.8; HSV and Lab; k = 150,
300, 450; strategies colour+fill+texture+size and fill+texture+size) on each image at full
resolution, single-threaded (cv2.setNumThreads(1)), and writes JSON:

  {"opencv": "4.6.0", "images": [{"file": "...", "width": W, "height": H,
                                  "seconds": S, "boxes": [[x1, y1, x2, y2], ...]}]}

Boxes are in OpenCV's output order (its own random ranking), x2/y2 exclusive (x + w, y + h).
`seconds` covers setBaseImage + switchToSelectiveSearchFast + process, not the JPEG decode.

Usage: /usr/bin/python3 scripts/opencv-selective-search.py OUT.json IMAGE...
Needs Debian's python3-opencv (which includes the ximgproc contrib module).
"""

import json
import sys
import time

import cv2


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out_path, paths = sys.argv[1], sys.argv[2:]
    if not hasattr(cv2, "ximgproc"):
        print(f"cv2 {cv2.__version__} has no ximgproc module (needs opencv contrib)", file=sys.stderr)
        return 1
    cv2.setNumThreads(1)
    search = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
    results = []
    for path in paths:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            print(f"warning: cannot read {path}", file=sys.stderr)
            continue
        start = time.perf_counter()
        search.setBaseImage(image)
        search.switchToSelectiveSearchFast()
        rects = search.process()
        seconds = time.perf_counter() - start
        boxes = [[int(x), int(y), int(x + w), int(y + h)] for x, y, w, h in rects]
        results.append(
            {
                "file": path,
                "width": int(image.shape[1]),
                "height": int(image.shape[0]),
                "seconds": seconds,
                "boxes": boxes,
            }
        )
        print(f"opencv {path}: {len(boxes)} boxes, {seconds:.2f} s", file=sys.stderr)
    with open(out_path, "w") as f:
        json.dump({"opencv": cv2.__version__, "images": results}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
