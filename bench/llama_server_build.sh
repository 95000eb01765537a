#!/usr/bin/env bash
# Build llama.cpp's llama-server from the llama-cpp-python 0.3.36 sdist (PyPI)
# and make a random-weight tiny llama GGUF to probe it with (issue 17).
# Usage: bench/llama_server_build.sh [WORKDIR]   (default /work/llama; nothing goes into the repo)
# Then:  WORKDIR/bin/llama-server -m WORKDIR/tiny-llama.gguf -np 1 -c 4096 --metrics --port 8080
set -euo pipefail
WORKDIR="${1:-/work/llama}"
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$WORKDIR"
cd "$WORKDIR"
# A venv of its own for the gguf writer: not a dependency of inferlab.
[ -x "$WORKDIR/venv/bin/python" ] || python3 -m venv "$WORKDIR/venv"
"$WORKDIR/venv/bin/pip" install -q gguf==0.19.0
PY="$WORKDIR/venv/bin/python"
SDIST=llama_cpp_python-0.3.36
if [ ! -f "$SDIST.tar.gz" ]; then
  "$PY" -m pip download --no-binary :all: --no-deps llama-cpp-python==0.3.36 -d "$WORKDIR"
fi
[ -d "$SDIST" ] || tar xzf "$SDIST.tar.gz"
SRC="$WORKDIR/$SDIST/vendor/llama.cpp"
# CPU only, no network at build time (no prebuilt web UI, no OpenSSL), only the server target.
cmake -S "$SRC" -B "$WORKDIR/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
  -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON
cmake --build "$WORKDIR/build" --target llama-server -j2
mkdir -p "$WORKDIR/bin"
cp "$WORKDIR/build/bin/llama-server" "$WORKDIR/bin/llama-server"
# Tiny random-weight model (4 layers, dim 256, 13 MB).
"$PY" "$HERE/make_tiny_gguf.py" "$WORKDIR/tiny-llama.gguf"
echo "llama-server: $WORKDIR/bin/llama-server"
echo "model:        $WORKDIR/tiny-llama.gguf"
