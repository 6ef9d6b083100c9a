# Sourced by the scripts: makes sure the Debian packages the project uses are present.
# As root it installs them; otherwise it prints the command to run and goes on (tests that need them will say so).
need=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
# The ONNX checker the ONNX export tests run on exported files (Debian's onnx, for /usr/bin/python3).
/usr/bin/python3 -c "import onnx" >/dev/null 2>&1 || need+=(python3-onnx)
# Open MPI (mpirun, libmpi.so.40) for data-parallel training and the Mpi tests.
command -v mpirun >/dev/null 2>&1 || need+=(openmpi-bin)
# Debian's Chromium: the explorer's browser tests drive it through Playwright (which downloads no browser of its own),
# and scripts/check-report.sh renders reports with it.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
for extra in ${DINOSHARP_EXTRA_APT:-}; do dpkg -s "$extra" >/dev/null 2>&1 || need+=("$extra"); done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing ${need[*]} (Debian packages)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null
  else
    echo "Missing Debian packages: ${need[*]}. Install them with: sudo apt-get install -y ${need[*]}" >&2
  fi
fi

# Real photos for the photo tests and demos: python3-skimage's sample images, extracted without installing the package.
photos=${DINOSHARP_PHOTOS:-/var/cache/dinosharp/photos}
if [ ! -f "$photos/astronaut.png" ] && [ "$(id -u)" = 0 ]; then
  tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download -qq python3-skimage >/dev/null 2>&1 && dpkg-deb -x python3-skimage_*.deb x); then
    mkdir -p "$photos"
    find "$tmp/x" -path '*skimage/data/*' \( -name '*.png' -o -name '*.jpg' \) -size +20k -exec cp {} "$photos/" \;
  fi
  rm -rf "$tmp"
fi
