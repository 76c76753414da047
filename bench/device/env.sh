# Sourced by every device script (run from .gl/ at the repository root on a
# lent NVIDIA machine): unpacks the glvnd loader debs carried in .gl/, points
# EGL at NVIDIA's vendor library, and makes $OUT, the folder that comes back.
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
