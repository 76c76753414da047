# Sourced by every device script. A script runs from the repository root on
# a lent NVIDIA machine (where `run` starts its command) with $GL (default
# .gl) carried: a folder holding the five glvnd loader debs and the binaries
# built here. This unpacks the debs, points EGL at NVIDIA's vendor library,
# and makes $OUT, the folder that comes back.
GL=${GL:-.gl}
for f in "$GL"/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
# short keeps the result lines of `go test -bench` output.
short() { grep -E "^Benchmark|FAIL|panic" | sed -E 's/ +[0-9]+ ns\/op//; s/-16 +/ /'; }
