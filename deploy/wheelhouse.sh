#!/bin/sh
# Fill deploy/wheelhouse/<variant> with every Python package the clinsynth image installs,
# so that `docker build --network none` works on the air-gapped build host.
# Run it on a connected machine with Docker (the downloads happen inside the image's own
# Python, so the wheels match it), then carry the repository with its wheelhouse over.
#
#   deploy/wheelhouse.sh cpu     # for deploy/Dockerfile      (Python 3.11, CPU torch)
#   deploy/wheelhouse.sh cuda    # for deploy/Dockerfile.cuda (Python 3.12, CUDA torch)
#
# TORCH_INDEX overrides where torch comes from (default: the PyTorch index of the variant).
set -eu
variant=${1:?usage: deploy/wheelhouse.sh cpu|cuda}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$variant" in
  cpu)  image=python:3.11.14-bookworm; torch="torch==2.13.0+cpu"
        index=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu} ;;
  cuda) image=python:3.12.12-bookworm; torch="torch==2.13.0"
        index=${TORCH_INDEX:-https://download.pytorch.org/whl/cu128} ;;
  *)    echo "usage: $0 cpu|cuda" >&2; exit 2 ;;
esac
mkdir -p "$root/deploy/wheelhouse/$variant"
docker run --rm -v "$root:/src:ro" -v "$root/deploy/wheelhouse/$variant:/wheelhouse" \
  "$image" sh -euc "
    pip download --dest /wheelhouse --index-url '$index' '$torch'
    # The project's dependencies (llama-cpp-python as its source distribution) and the
    # openai extra; torch is already there.
    pip download --dest /wheelhouse --find-links /wheelhouse '/src[openai]'
    # Build backends, which pip download does not keep: the project's (setuptools) and
    # llama-cpp-python's (scikit-build-core, with cmake and ninja from PyPI).
    pip download --dest /wheelhouse 'setuptools>=77' wheel 'scikit-build-core[pyproject]' cmake ninja
  "
echo "deploy/wheelhouse/$variant: $(ls "$root/deploy/wheelhouse/$variant" | wc -l) files"
