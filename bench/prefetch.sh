#!/usr/bin/env bash
# Benchmark of `cargo xtask prefetch` (release build) against the peer every Nix pinning tool
# runs, `nix-prefetch-url --unpack file://…`, and the floor `gzip -dc FILE | sha256sum`, side by
# side in one run on the same files; then peak memory on an archive that unpacks to 1 GiB.
# Needs: hyperfine, nix-bin, GNU time (apt-get install -y hyperfine nix-bin time).
# Results: docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
work=bench/work
mkdir -p "$work"
cargo build --release --quiet -p xtask
xtask=$PWD/target/release/hacs-nix

make_archive() { # name files bytes
  local name=$1 dir=$work/$1
  if [ ! -f "$work/$name.tar.gz" ]; then
    rm -rf "$dir" && mkdir -p "$dir/$name-1.0"
    python3 bench/gen_tree.py "$dir/$name-1.0" "$2" "$3"
    tar -C "$dir" -czf "$work/$name.tar.gz" "$name-1.0"
    (cd "$dir/$name-1.0" && zip -qry "$PWD/../../$name.zip" .)
    rm -rf "$dir"
  fi
  printf '%s: %s compressed (tar.gz), %s files\n' "$name" "$(du -h "$work/$name.tar.gz" | cut -f1)" "$2"
}

make_archive small 500 10000000
make_archive large 4000 120000000

for name in small large; do
  f=$PWD/$work/$name.tar.gz
  # Agreement first: a fast wrong answer is worth nothing.
  ours=$("$xtask" prefetch "$f" --format base32)
  peer=$(nix-prefetch-url --unpack "file://$f" 2>/dev/null)
  [ "$ours" = "$peer" ] || { echo "MISMATCH on $name: ours $ours, nix $peer"; exit 1; }
  hyperfine --warmup 1 --runs "${RUNS:-10}" --export-markdown "$work/$name.md" \
    -n "hacs-nix prefetch" "$xtask prefetch $f" \
    -n "nix-prefetch-url --unpack" "nix-prefetch-url --unpack file://$f" \
    -n "floor: gzip -dc | sha256sum" "gzip -dc $f | sha256sum"
done
f=$PWD/$work/small.zip
hyperfine --warmup 1 --runs "${RUNS:-10}" --export-markdown "$work/small-zip.md" \
  -n "hacs-nix prefetch --no-strip-root (zip)" "$xtask prefetch $f --no-strip-root" \
  -n "nix-prefetch-url --unpack (zip)" "nix-prefetch-url --unpack file://$f"

# Peak memory: an archive that unpacks to 1 GiB (the default size limit, exactly).
make_archive huge 8000 1073000000
f=$PWD/$work/huge.tar.gz
[ "$("$xtask" prefetch "$f" --format base32)" = "$(nix-prefetch-url --unpack "file://$f" 2>/dev/null)" ] \
  || { echo "MISMATCH on huge"; exit 1; }
for name in large huge; do
  /usr/bin/time -f "$name: peak RSS %M KiB, %e s wall" "$xtask" prefetch "$PWD/$work/$name.tar.gz" --json \
    | grep -E '"(sri|files|unpacked_size)"'
done
