# Sourced by scripts/photos-demo.sh: one flat folder of real photographs from three Debian packages (docs/photos.md),
# extracted without installing them: python3-skimage's sample photos (scripts/ensure-deps.sh), opencv-doc's example
# photos and python3-sklearn's two. Drawings, logos, charts, scans and calibration boards are left out. Runs once: the
# folder is built in a temporary folder and moved into place, so an interrupted run leaves nothing half-done.
# Not part of ensure-deps.sh because opencv-doc is a 96 MB download that the tests do not need.
source "$(dirname "${BASH_SOURCE[0]}")/ensure-deps.sh"
photos_all=${DINOSHARP_PHOTOS_ALL:-/var/cache/dinosharp/photos-all}
if [ ! -d "$photos_all" ]; then
  if [ ! -f "$photos/astronaut.png" ]; then
    echo "Missing $photos_all, and the python3-skimage photos it starts from ($photos): run this script as root once." >&2
  elif [ "$(id -u)" != 0 ]; then
    echo "Missing $photos_all: run this script as root (it extracts photos from Debian packages with apt-get download), or set DINOSHARP_PHOTOS_ALL." >&2
  else
    echo "Extracting photos from opencv-doc and python3-sklearn into $photos_all..."
    tmp=$(mktemp -d)
    skimage_photos=(astronaut brick camera cell chelsea clock_motion coffee coins grass gravel hubble_deep_field ihc moon
      motorcycle_left motorcycle_right retina rocket text)
    opencv_photos=(aero1 aero3 aloeL aloeR apple baboon basketball1 basketball2 board box box_in_scene building butterfly
      chicky_512 ela_modified ela_original fruits graf1 graf3 home left leuvenA leuvenB licenseplate_motion messi5 orange
      right rubberwhale1 rubberwhale2 smarties squirrel_cls starry_night stuff sudoku)
    opencv_data=./usr/share/doc/opencv-doc/examples/data
    sklearn_images=./usr/lib/python3/dist-packages/sklearn/datasets/images
    if (cd "$tmp" && apt-get download -qq opencv-doc python3-sklearn >/dev/null 2>&1 &&
        mkdir x && dpkg-deb --fsys-tarfile opencv-doc_*.deb | tar -x -C x "$opencv_data" &&
        dpkg-deb --fsys-tarfile python3-sklearn_*.deb | tar -x -C x "$sklearn_images"); then
      mkdir -p "$tmp/photos"
      for name in "${skimage_photos[@]}"; do cp "$photos"/"$name".* "$tmp/photos/"; done
      for name in "${opencv_photos[@]}"; do cp "$tmp/x/$opencv_data"/"$name".* "$tmp/photos/"; done
      cp "$tmp/x/$sklearn_images"/{china,flower}.jpg "$tmp/photos/"
      mkdir -p "$(dirname "$photos_all")"
      mv "$tmp/photos" "$photos_all"
    else
      echo "Could not download or extract opencv-doc / python3-sklearn (apt-get download)." >&2
    fi
    rm -rf "$tmp"
  fi
fi
