#!/usr/bin/env bash
# Builds the folder that travels to a bare GPU machine for bench/gpu_check.sh
# (no package registry there): the Debian packages the build needs beyond the
# CUDA toolkit, cmake and gcc (OpenBLAS, LAPACKE, zlib headers, the gfortran
# runtime), fetched with `apt-get download` (nothing is installed here), and
# the Fashion-MNIST files. The folder is kept out of git (.gitignore: /.carry/).
#
# usage: bench/gpu_bundle.sh [--list] [DIR]      (DIR default: .carry)
#   --list   print what would be fetched (package, version, size) and exit
set -euo pipefail
list=0
[ "${1:-}" = "--list" ] && { list=1; shift; }
dir="${1:-.carry}"
# what gpu_check.sh unpacks with dpkg -x; libopenblas0-pthread brings
# libblas.so.3 and liblapack.so.3 of its own (used through LD_LIBRARY_PATH,
# since dpkg -x sets up no alternatives)
pkgs=(libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread liblapacke liblapacke-dev libtmglib3
      libgfortran5 libquadmath0 zlib1g zlib1g-dev)
fmnist_dir=/usr/share/datasets/fashion-mnist
fmnist=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

if [ "$list" = 1 ]; then
    total=0
    echo "Debian packages (apt-get download into $dir/debs):"
    for p in "${pkgs[@]}"; do
        ver=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
        size=$(apt-cache show "$p" 2>/dev/null | awk '/^Size:/ {print $2; exit}')
        if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
            echo "  $p: NOT AVAILABLE from apt here"
            continue
        fi
        echo "  $p $ver ($(( ${size:-0} / 1024 )) KiB)"
        total=$(( total + ${size:-0} ))
    done
    echo "Fashion-MNIST (copied from $fmnist_dir, else from the dataset-fashion-mnist package) into $dir/fashion-mnist:"
    for f in "${fmnist[@]}"; do
        if [ -f "$fmnist_dir/$f" ]; then
            s=$(stat -c %s "$fmnist_dir/$f"); total=$(( total + s ))
            echo "  $f ($(( s / 1024 )) KiB)"
        else
            echo "  $f (from dataset-fashion-mnist)"
        fi
    done
    echo "total about $(( total / 1048576 )) MiB (the device tool carries at most 64 MiB with the working tree)"
    exit 0
fi

mkdir -p "$dir/debs" "$dir/fashion-mnist"
( cd "$dir/debs" && apt-get download "${pkgs[@]}" )
missing=0
for f in "${fmnist[@]}"; do [ -f "$fmnist_dir/$f" ] || missing=1; done
if [ "$missing" = 0 ]; then
    for f in "${fmnist[@]}"; do cp "$fmnist_dir/$f" "$dir/fashion-mnist/"; done
else
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    ( cd "$tmp" && apt-get download dataset-fashion-mnist && dpkg -x ./dataset-fashion-mnist_*.deb root )
    for f in "${fmnist[@]}"; do cp "$tmp/root$fmnist_dir/$f" "$dir/fashion-mnist/"; done
fi
( cd "$dir" && find debs fashion-mnist -type f | sort | xargs sha256sum > MANIFEST.sha256 )
echo "bundle in $dir: $(du -sh "$dir" | cut -f1) ($(ls "$dir/debs" | wc -l) packages, Fashion-MNIST)"
echo "carry it: run(command='bench/gpu_check.sh', carry=['$dir'])"
